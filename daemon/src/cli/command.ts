import { type ParseArgsConfig, parseArgs } from 'node:util';
import { errorMessage } from '../errors.js';

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

/** Writes `dgx-pixels COMMAND: text` to stderr and returns the exit code (1; 2 for usage errors). */
export type Fail = (text: string, code?: number) => number;

export function failFor(command: string): Fail {
  return (text, code = 1) => {
    process.stderr.write(`dgx-pixels ${command}: ${text}\n`);
    return code;
  };
}

/** `parseArgs` with positionals; an unknown or malformed flag → the usage, exit code 2. */
export function parseCommandArgs<const O extends NonNullable<ParseArgsConfig['options']>>(
  argv: string[],
  options: O,
  usage: string,
  fail: Fail,
) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true });
  } catch (err) {
    return fail(`${errorMessage(err)}\n\n${usage}`, 2);
  }
}
