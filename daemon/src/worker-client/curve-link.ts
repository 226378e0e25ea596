import { basename } from 'node:path';
import type { EventOfType, Request, Subscriber } from 'zeromq';
import { loadPublicKey, loadSecretKey } from '../config/curve-keys.js';
import type { WorkerCurve } from '../config/load.js';
import { connectionFailedText, DaemonError } from '../errors.js';

/** The daemon's side of a CURVE link to one worker: keys, and where they were configured. */
export interface CurveClientKeys {
  publicKey: string;
  secretKey: string;
  /** The worker's public key. */
  serverKey: string;
  clientKeyFile: string;
  serverKeyFile: string;
  /** The config key they came from: `backend.curve` or `backend.workers[N].curve`. */
  key: string;
}

/** Read the key files of a worker link (throws DaemonError('CONFIG_INVALID') with the fix). */
export function loadCurveClient(curve: WorkerCurve): CurveClientKeys {
  const own = loadSecretKey(curve.client_key_file, `${curve.key}.client_key_file`);
  return {
    publicKey: own.publicKey,
    secretKey: own.secretKey,
    serverKey: loadPublicKey(curve.server_public_key_file, `${curve.key}.server_public_key_file`),
    clientKeyFile: own.file,
    serverKeyFile: curve.server_public_key_file,
    key: curve.key,
  };
}

/** ZeroMQ socket options of a CURVE client; none for plaintext. */
export function curveSocketOptions(
  keys: CurveClientKeys | undefined,
): { curveServerKey: string; curvePublicKey: string; curveSecretKey: string } | object {
  if (keys === undefined) return {};
  return {
    curveServerKey: keys.serverKey,
    curvePublicKey: keys.publicKey,
    curveSecretKey: keys.secretKey,
  };
}

/**
 * The worker turned the connection down during the ZMTP handshake (key not allowed, CURVE on
 * one side only, wrong server key). Code WORKER_UNREACHABLE; the message says which setting to
 * fix. Retrying does not help until the configuration changes.
 */
export class HandshakeRefused extends DaemonError {
  constructor(message: string) {
    super('WORKER_UNREACHABLE', connectionFailedText(message));
    this.name = 'HandshakeRefused';
  }
}

type HandshakeEvent =
  | EventOfType<'handshake:error:auth'>
  | EventOfType<'handshake:error:protocol'>
  | EventOfType<'handshake:error:other'>;

/** The refusal an event means, or undefined when it is not one (e.g. a dropped plaintext link). */
export function explainHandshakeFailure(
  event: HandshakeEvent,
  endpoint: string,
  keys: CurveClientKeys | undefined,
): HandshakeRefused | undefined {
  const code = 'code' in event.error ? String(event.error.code) : '';
  if (event.type === 'handshake:error:auth') {
    const name = keys === undefined ? 'NAME' : basename(keys.clientKeyFile).replace(/\.key$/, '');
    return new HandshakeRefused(
      `worker ${endpoint} did not accept this daemon's key (${keys?.key ?? 'backend.curve'}.client_key_file` +
        `${keys === undefined ? '' : ` = ${keys.clientKeyFile}`}); add ${name}.pub to the worker's --allow-keys folder and restart the worker`,
    );
  }
  if (event.type === 'handshake:error:protocol' && code === 'ERR_ZMTP_MECHANISM_MISMATCH') {
    return keys === undefined
      ? new HandshakeRefused(
          `worker ${endpoint} requires CURVE encryption and this daemon has no key for it; set backend.curve.client_key_file ` +
            "(dgx-pixels keys generate NAME, then copy NAME.pub to the worker's --allow-keys folder) and " +
            "backend.curve.server_public_key_file (the .pub of the worker's --curve-key)",
        )
      : new HandshakeRefused(
          `worker ${endpoint} does not use CURVE (it speaks plaintext) but ${keys.key} is set; start it with ` +
            '--curve-key and --allow-keys, or set curve: false for this worker in backend.workers ' +
            '(a Python worker cannot do CURVE: reach it through an SSH tunnel, see the README "Remote worker")',
        );
  }
  if (keys === undefined) return undefined;
  return new HandshakeRefused(
    `worker ${endpoint} broke off the CURVE handshake (${code || event.type}): ${keys.key}.server_public_key_file ` +
      `(${keys.serverKeyFile}) is most likely not that worker's public key; use the .pub of its --curve-key`,
  );
}

/** Call `onRefused` for every handshake failure of `socket` that means a refusal. */
export function watchHandshake(
  socket: Request | Subscriber,
  endpoint: string,
  keys: CurveClientKeys | undefined,
  onRefused: (err: HandshakeRefused) => void,
): void {
  const handle = (event: HandshakeEvent): void => {
    const refusal = explainHandshakeFailure(event, endpoint, keys);
    if (refusal !== undefined) onRefused(refusal);
  };
  socket.events.on('handshake:error:auth', handle);
  socket.events.on('handshake:error:protocol', handle);
  socket.events.on('handshake:error:other', handle);
}
