import { parseArgs } from 'node:util';
import { generateKeyFiles, loadSecretKey } from '../config/curve-keys.js';
import { errorMessage } from '../errors.js';
import type { CliCommand } from './command.js';

const usage = `Usage: dgx-pixels keys generate NAME [--dir DIR] [--force]
       dgx-pixels keys show FILE

CURVE key pairs for an encrypted, authenticated link between a daemon and a
remote embedded worker (ZeroMQ CURVE, keys in Z85 text).

  generate NAME   writes DIR/NAME.key (secret, mode 0600: keep it where it is)
                  and DIR/NAME.pub (public: give it to the other side)
    --dir DIR     folder for the two files (default: the current directory; created 0700)
    --force       replace an existing pair (rotation: the old key stops working
                  wherever it was listed; restart the processes that use it)
  show FILE       check a secret key file (mode, format) and print its public key

Typical setup (see the README, "Remote worker"):
  worker host:  dgx-pixels keys generate worker --dir ~/.dgx-pixels/keys
                dgx-pixels worker --req tcp://0.0.0.0:5555 --bind-public \\
                  --curve-key ~/.dgx-pixels/keys/worker.key --allow-keys ~/.dgx-pixels/allowed
  daemon host:  dgx-pixels keys generate studio --dir ~/.dgx-pixels/keys
                copy studio.pub into the worker's --allow-keys folder, worker.pub here, and set
                backend.curve.client_key_file / backend.curve.server_public_key_file`;

const out = (line: string) => process.stdout.write(`${line}\n`); // stdout-ok: the command's report

async function run(argv: string[]): Promise<number> {
  let parsed: { values: { dir?: string; force?: boolean }; positionals: string[] };
  try {
    parsed = parseArgs({
      args: argv,
      options: { dir: { type: 'string' }, force: { type: 'boolean' } },
      strict: true,
      allowPositionals: true,
    });
  } catch (err) {
    process.stderr.write(`dgx-pixels keys: ${errorMessage(err)}; see dgx-pixels keys --help\n`);
    return 2;
  }
  const [action, arg, ...extra] = parsed.positionals;
  if (arg === undefined || extra.length > 0 || (action !== 'generate' && action !== 'show')) {
    process.stderr.write(
      'dgx-pixels keys: expected "keys generate NAME [--dir DIR]" or "keys show FILE"; see dgx-pixels keys --help\n',
    );
    return 2;
  }
  try {
    if (action === 'show') {
      const { publicKey, file } = loadSecretKey(arg, 'keys show');
      out(`${file}: secret key OK (mode 0600); public key ${publicKey}`);
      return 0;
    }
    const made = generateKeyFiles(arg, parsed.values.dir ?? '.', parsed.values.force ?? false);
    out(`secret key: ${made.secretFile} (mode 0600; keep it on this machine)`);
    out(`public key: ${made.publicFile} (${made.publicKey})`);
    return 0;
  } catch (err) {
    process.stderr.write(`dgx-pixels keys: ${errorMessage(err)}\n`);
    return 1;
  }
}

export const command: CliCommand = {
  name: 'keys',
  summary: 'create CURVE key pairs for an encrypted, authenticated link to a remote worker',
  usage,
  run,
};
