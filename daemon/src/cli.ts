#!/usr/bin/env node
import { COMMANDS } from './cli/commands.js';

// Wiring only: find the command, load it, run it, exit with its code.
const out = (line: string) => process.stdout.write(`${line}\n`); // stdout-ok: CLI help text

function help(): void {
  out('dgx-pixels — AI pixel-art sprites for Bevy games\n');
  out('Usage: dgx-pixels <command> [options]   (dgx-pixels <command> --help for details)\n');
  out('Commands:');
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  for (const [name, c] of Object.entries(COMMANDS)) out(`  ${name.padEnd(width)}  ${c.summary}`);
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    help();
    return name === undefined ? 1 : 0;
  }
  if (name === '--version' || name === '-v') {
    out('0.1.0');
    return 0;
  }
  const entry = COMMANDS[name];
  if (entry === undefined) {
    process.stderr.write(
      `dgx-pixels: unknown command "${name}"; expected one of: ${Object.keys(COMMANDS).join(', ')}. Run dgx-pixels --help.\n`,
    );
    return 2;
  }
  const command = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    out(command.usage);
    return 0;
  }
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`dgx-pixels: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
