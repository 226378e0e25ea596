import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { DaemonError, errorMessage } from '../errors.js';

/**
 * CURVE key files (ZeroMQ RFC 26, keys as Z85 text, RFC 32). `NAME.key` holds
 * the secret key (mode 0600, refused when group or others can read it) and
 * `NAME.pub` the public key. A file is comment lines (`#`) and one line of
 * 40 Z85 characters. The public key is derived from the secret one, so the
 * secret file alone is enough to run.
 */

const Z85 = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';
const Z85_KEY = /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/;

/** Z85 text of `bytes` (length a multiple of 4). */
export function z85Encode(bytes: Uint8Array): string {
  const view = Buffer.from(bytes);
  let out = '';
  for (let i = 0; i < view.length; i += 4) {
    let value = view.readUInt32BE(i);
    let chunk = '';
    for (let j = 0; j < 5; j++) {
      chunk = Z85[value % 85] + chunk;
      value = Math.floor(value / 85);
    }
    out += chunk;
  }
  return out;
}

/** Bytes of Z85 `text` (length a multiple of 5, checked by the caller). */
export function z85Decode(text: string): Buffer {
  const out = Buffer.alloc((text.length / 5) * 4);
  for (let i = 0; i < text.length; i += 5) {
    let value = 0;
    for (let j = 0; j < 5; j++) value = value * 85 + Z85.indexOf(text[i + j] as string);
    out.writeUInt32BE(value >>> 0, (i / 5) * 4);
  }
  return out;
}

/** X25519 public key (Z85) of a secret key (Z85), via node:crypto. */
export function publicKeyOf(secretKey: string): string {
  const pkcs8 = Buffer.concat([
    Buffer.from('302e020100300506032b656e04220420', 'hex'),
    z85Decode(secretKey),
  ]);
  const jwk = createPublicKey(
    createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }),
  ).export({ format: 'jwk' });
  return z85Encode(Buffer.from(jwk.x as string, 'base64url'));
}

/** A fresh X25519 key pair in Z85 (what zmq_curve_keypair makes), from node:crypto: no zeromq needed. */
export function newKeyPair(): CurveKeyPair {
  const jwk = generateKeyPairSync('x25519').privateKey.export({ format: 'jwk' });
  return {
    publicKey: z85Encode(Buffer.from(jwk.x as string, 'base64url')),
    secretKey: z85Encode(Buffer.from(jwk.d as string, 'base64url')),
  };
}

export interface CurveKeyPair {
  publicKey: string;
  secretKey: string;
}

/** The key line of a key file's text, or undefined when it holds none. */
function keyLine(text: string): string | undefined {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  return lines.length === 1 && Z85_KEY.test(lines[0] as string) ? lines[0] : undefined;
}

function readKeyFile(path: string, what: string, kind: 'secret' | 'public'): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new DaemonError(
      'CONFIG_INVALID',
      `cannot read the ${kind} CURVE key file ${path} (${what}): ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}; ` +
        'create a key pair with: dgx-pixels keys generate NAME --dir DIR',
      { cause: err },
    );
  }
  const key = keyLine(text);
  if (key === undefined) {
    throw new DaemonError(
      'CONFIG_INVALID',
      `${path} (${what}) is not a ${kind} CURVE key file: expected one line of 40 Z85 characters ` +
        '(comment lines start with #); create a key pair with: dgx-pixels keys generate NAME --dir DIR',
    );
  }
  return key;
}

/**
 * Load a secret key file (`what` names the setting, e.g. "backend.curve.client_key_file").
 * Throws DaemonError('CONFIG_INVALID') when it is missing, malformed, or readable by group or
 * others (the message gives the `chmod 600` fix).
 */
export function loadSecretKey(file: string, what: string): CurveKeyPair & { file: string } {
  const path = resolve(file);
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (err) {
    throw new DaemonError(
      'CONFIG_INVALID',
      `cannot read the secret CURVE key file ${path} (${what}): ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}; ` +
        'create a key pair with: dgx-pixels keys generate NAME --dir DIR',
      { cause: err },
    );
  }
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    throw new DaemonError(
      'CONFIG_INVALID',
      `refusing the secret CURVE key file ${path} (${what}): its mode is ${(mode & 0o777).toString(8).padStart(4, '0')}, ` +
        `so other users can read it; run: chmod 600 ${path}`,
    );
  }
  const secretKey = readKeyFile(path, what, 'secret');
  return { secretKey, publicKey: publicKeyOf(secretKey), file: path };
}

/** Load a public key file (`what` names the setting). Throws DaemonError('CONFIG_INVALID'). */
export function loadPublicKey(file: string, what: string): string {
  return readKeyFile(resolve(file), what, 'public');
}

/**
 * The public keys allowed in: every `*.pub` file of `dir`, by Z85 key → file name without
 * `.pub`. Throws DaemonError('CONFIG_INVALID') when the folder cannot be read, a file is not a
 * key, or it holds no `.pub` file at all (nobody could connect).
 */
export function loadAllowedKeys(dir: string, what: string): Map<string, string> {
  const path = resolve(dir);
  let names: string[];
  try {
    names = readdirSync(path).filter((n) => n.endsWith('.pub'));
  } catch (err) {
    throw new DaemonError(
      'CONFIG_INVALID',
      `cannot read the allowed-keys folder ${path} (${what}): ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}; ` +
        "create it and copy each daemon's NAME.pub into it",
      { cause: err },
    );
  }
  if (names.length === 0) {
    throw new DaemonError(
      'CONFIG_INVALID',
      `the allowed-keys folder ${path} (${what}) holds no .pub file, so no daemon could connect; ` +
        "copy each daemon's NAME.pub (dgx-pixels keys generate NAME) into it",
    );
  }
  const allowed = new Map<string, string>();
  for (const name of names.sort())
    allowed.set(readKeyFile(join(path, name), what, 'public'), basename(name, '.pub'));
  return allowed;
}

/**
 * Write a new key pair: `DIR/NAME.key` (secret, mode 0600) and `DIR/NAME.pub`. Refuses to
 * overwrite an existing pair unless `force` (rotation). Returns the paths and the public key.
 */
export function generateKeyFiles(
  name: string,
  dir: string,
  force = false,
): { secretFile: string; publicFile: string; publicKey: string } {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) {
    throw new DaemonError(
      'VALIDATION',
      `key name ${JSON.stringify(name)} must be 1-64 letters, digits, '.', '_' or '-' (it becomes NAME.key and NAME.pub)`,
    );
  }
  const folder = resolve(dir);
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  const secretFile = join(folder, `${name}.key`);
  const publicFile = join(folder, `${name}.pub`);
  const { publicKey, secretKey } = newKeyPair();
  const flag = force ? 'w' : 'wx';
  try {
    writeFileSync(
      secretFile,
      `# dgx-pixels CURVE secret key "${name}" (Z85). Keep it private: mode 0600, never copy it.\n${secretKey}\n`,
      { mode: 0o600, flag },
    );
    // an overwritten file keeps its old mode: make sure it is 0600
    chmodSync(secretFile, 0o600);
    writeFileSync(
      publicFile,
      `# dgx-pixels CURVE public key "${name}" (Z85). Give it to the other side.\n${publicKey}\n`,
      { mode: 0o644, flag: 'w' },
    );
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new DaemonError(
        'VALIDATION',
        `${secretFile} already exists; pass --force to replace the key pair (the old key stops working everywhere it is listed)`,
      );
    }
    throw err;
  }
  return { secretFile, publicFile, publicKey };
}
