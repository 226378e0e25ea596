/**
 * One CLI command. `run` gets the arguments after the command name and
 * returns the process exit code. A command's own output may go to stdout
 * (mark such lines `// stdout-ok`); logs go to stderr.
 */
export interface CliCommand {
  name: string;
  /** One line for `dgx-pixels --help`. */
  summary: string;
  /** Full text for `dgx-pixels <name> --help`. */
  usage: string;
  run(argv: string[]): Promise<number>;
}
