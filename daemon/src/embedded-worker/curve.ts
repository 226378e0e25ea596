import { Context, type Publisher, Reply } from 'zeromq';
import { loadAllowedKeys, loadSecretKey, z85Encode } from '../config/curve-keys.js';
import { DaemonError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { isLoopbackHost, splitEndpoint } from './endpoints.js';

/** How the worker's sockets are secured, from WorkerOptions. */
export interface SecurityOptions {
  /** The worker's secret key file (NAME.key); makes REP and PUB CURVE servers. */
  curveKeyFile?: string | undefined;
  /** Folder of the `.pub` files of the daemons allowed in (required with curveKeyFile). */
  allowKeysDir?: string | undefined;
  /** A non-loopback bind was asked for (--bind-public). */
  bindPublic: boolean;
  /** Accept a non-loopback bind without CURVE (--insecure). */
  insecure: boolean;
}

/** Socket options for REP and PUB, and the ZAP handler to stop once they are closed. */
export interface WorkerSecurity {
  /** Empty for plaintext: the sockets are then exactly the ones of a worker without CURVE. */
  socketOptions: {
    context?: Context;
    curveServer?: boolean;
    curveSecretKey?: string;
    zapDomain?: string;
  };
  /** The worker's public key (Z85) the daemons need, when CURVE is on. */
  publicKey: string | undefined;
  /** Number of allowed client keys. */
  allowedKeys: number;
  /** Log refused plaintext / broken handshakes on the CURVE sockets (once per kind per worker). */
  watch(socket: Reply | Publisher, what: 'req' | 'pub'): void;
  close(): void;
}

/** The ZAP endpoint libzmq asks (RFC 27), in the context of the sockets it guards. */
const ZAP_ENDPOINT = 'inproc://zeromq.zap.01';

/**
 * Check the bind policy and set up CURVE. Rules: a non-loopback endpoint needs bindPublic; with
 * bindPublic, CURVE is needed unless `insecure` says otherwise (then a warning is logged). With
 * CURVE, REP and PUB get their own ZeroMQ context whose ZAP handler admits only the keys in
 * allowKeysDir (each refused key is logged once). Throws DaemonError('CONFIG_INVALID').
 */
export async function setUpSecurity(
  endpoints: { req: string; pub: string },
  options: SecurityOptions,
  logger: Logger,
): Promise<WorkerSecurity> {
  const curve = options.curveKeyFile !== undefined;
  for (const [what, endpoint] of Object.entries(endpoints)) {
    const { host } = splitEndpoint(endpoint, what);
    if (isLoopbackHost(host)) continue;
    if (!options.bindPublic) {
      throw new DaemonError(
        'CONFIG_INVALID',
        `refusing to bind the worker ${what} socket on ${endpoint}: it is not a loopback address. ` +
          'Bind tcp://127.0.0.1:PORT and tunnel (ssh -L), or pass --bind-public (worker.bind_public: true) ' +
          'with --curve-key and --allow-keys so only the daemons you list get in.',
      );
    }
    if (!curve && !options.insecure) {
      throw new DaemonError(
        'CONFIG_INVALID',
        `refusing to bind the worker ${what} socket on ${endpoint} without encryption: without CURVE the protocol ` +
          'has no authentication (anyone who can reach the port can queue jobs and read every prompt and result). ' +
          'Pass --curve-key FILE --allow-keys DIR (worker.curve_key_file, worker.allow_keys_dir), ' +
          'or --insecure (worker.insecure: true) on a network you trust.',
      );
    }
  }
  if (!curve) {
    if (options.allowKeysDir !== undefined) {
      throw new DaemonError(
        'CONFIG_INVALID',
        "--allow-keys (worker.allow_keys_dir) needs --curve-key FILE (worker.curve_key_file), the worker's own secret key; " +
          'create one with: dgx-pixels keys generate worker',
      );
    }
    if (options.bindPublic && options.insecure)
      logger.warn(
        { endpoints },
        'INSECURE: the worker listens beyond loopback without CURVE: anyone who reaches these ports can queue and cancel jobs and read every prompt and result',
      );
    return {
      socketOptions: {},
      publicKey: undefined,
      allowedKeys: 0,
      watch: () => undefined,
      close: () => undefined,
    };
  }
  if (options.allowKeysDir === undefined) {
    throw new DaemonError(
      'CONFIG_INVALID',
      '--curve-key (worker.curve_key_file) needs --allow-keys DIR (worker.allow_keys_dir), a folder with the .pub file ' +
        'of each daemon allowed in; without it any client could connect',
    );
  }
  const keys = loadSecretKey(options.curveKeyFile as string, '--curve-key / worker.curve_key_file');
  const allowed = loadAllowedKeys(options.allowKeysDir, '--allow-keys / worker.allow_keys_dir');
  // own context: the ZAP endpoint is per context, so two workers in one process keep their own lists
  const context = new Context({ blocky: false });
  const zap = new Reply({ context, linger: 0 });
  await zap.bind(ZAP_ENDPOINT);
  void serveZap(zap, allowed, logger);
  const reported = new Set<string>();
  return {
    socketOptions: {
      context,
      curveServer: true,
      curveSecretKey: keys.secretKey,
      zapDomain: 'dgx-pixels',
    },
    publicKey: keys.publicKey,
    allowedKeys: allowed.size,
    watch(socket, what) {
      const once = (kind: string, message: string, detail: Record<string, unknown>) => {
        if (reported.has(kind)) return; // ZeroMQ clients retry every 100 ms: one line per kind
        reported.add(kind);
        logger.warn({ socket: what, ...detail }, message);
      };
      socket.events.on('handshake:error:protocol', (e) => {
        if (e.error.code === 'ERR_ZMTP_MECHANISM_MISMATCH')
          once(
            'plaintext',
            'refused a client without CURVE (plaintext); it must set backend.curve.client_key_file and backend.curve.server_public_key_file (logged once)',
            { address: e.address },
          );
        else
          once(
            e.error.code,
            "refused a CURVE handshake that failed (most likely the client's backend.curve.server_public_key_file is not this worker's .pub; logged once)",
            { address: e.address, err: e.error.code },
          );
      });
    },
    close() {
      zap.close();
    },
  };
}

/**
 * The ZAP handler (RFC 27): request frames [version, request id, domain, address, identity,
 * mechanism, credentials…]; reply [version, request id, status, text, user id, metadata].
 * Admits a CURVE client whose key is in `allowed`; logs each other key once.
 */
async function serveZap(zap: Reply, allowed: Map<string, string>, logger: Logger): Promise<void> {
  const refused = new Set<string>();
  const admitted = new Set<string>();
  try {
    for await (const frames of zap) {
      const [version, requestId, , address, , mechanism, credential] = frames;
      const key = credential?.length === 32 ? z85Encode(credential) : undefined;
      const name = key === undefined ? undefined : allowed.get(key);
      const ok = mechanism?.toString() === 'CURVE' && name !== undefined;
      if (ok && !admitted.has(name)) {
        admitted.add(name);
        logger.info(
          { key: name, address: address?.toString() },
          'admitted a daemon by its CURVE key',
        );
      }
      if (!ok) {
        const id = key ?? `mechanism ${mechanism?.toString() ?? '?'}`;
        if (!refused.has(id)) {
          refused.add(id);
          logger.warn(
            { key: id, address: address?.toString() },
            'refused a client whose CURVE key is not in the --allow-keys folder; to let it in, copy its NAME.pub there and restart the worker (logged once per key)',
          );
        }
      }
      await zap.send([
        version ?? '1.0',
        requestId ?? '',
        ok ? '200' : '400',
        ok ? 'OK' : 'key not allowed',
        ok ? name : '',
        '',
      ]);
    }
  } catch (err) {
    if (!zap.closed) logger.error({ err: errorMessage(err) }, 'ZAP handler failed');
  }
}
