import { type WorkerEndpoint, workerEndpoints } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { type CurveClientKeys, loadCurveClient } from './curve-link.js';

export interface WorkerClientOptions {
  /** REQ endpoint (the worker's REP). */
  req: string;
  /** PUB endpoint (the worker's updates). */
  pub: string;
  /** Display name (default: req). */
  name?: string;
  /** One REQ round trip, ms (backend.request_timeout_ms, default 5000). */
  requestTimeoutMs?: number;
  /** Reachability check, ms (backend.ping_timeout_ms, default 250). */
  pingTimeoutMs?: number;
  /** Lazy Pirate retries of idempotent requests (backend.max_retries, default 3). */
  maxRetries?: number;
  /** Longest a generation may take, s (backend.timeout_s, default 300). */
  timeoutS?: number;
  /** Ask for inline PNG bytes (backend.return_image, default true). */
  returnImage?: boolean;
  /** Worker path prefix → local prefix (backend.path_map), also scanned for missed results. */
  pathMap?: Readonly<Record<string, string>>;
  /** Quiet time after which a job's state is asked for (job_status or status polling), ms (default 2000). */
  recoveryIntervalMs?: number;
  /** CURVE keys: REQ and SUB connect as CURVE clients (backend.curve / backend.workers[].curve). */
  curve?: CurveClientKeys | undefined;
  logger?: Logger;
}

/**
 * Options of one worker from the config (see workerEndpoints in config/load.ts). Reads its
 * CURVE key files: throws DaemonError('CONFIG_INVALID') when one is missing, malformed or
 * (the secret one) readable by others.
 */
export function clientOptionsFromConfig(
  config: Config,
  endpoint: WorkerEndpoint,
  logger?: Logger,
): WorkerClientOptions {
  const b = config.backend;
  const options: WorkerClientOptions = {
    name: endpoint.name,
    req: endpoint.req,
    pub: endpoint.pub,
    requestTimeoutMs: b.request_timeout_ms,
    pingTimeoutMs: b.ping_timeout_ms,
    maxRetries: b.max_retries,
    timeoutS: b.timeout_s,
    returnImage: b.return_image,
    pathMap: b.path_map,
    recoveryIntervalMs: Math.min(b.health_interval_ms, 5000),
  };
  if (endpoint.curve !== undefined) options.curve = loadCurveClient(endpoint.curve);
  if (logger !== undefined) options.logger = logger;
  return options;
}

/**
 * Read every worker's CURVE key files now, so a daemon with a missing, malformed or
 * world-readable key refuses to start (DaemonError('CONFIG_INVALID') with the fix) instead of
 * failing its first job.
 */
export function checkCurveKeyFiles(config: Config): void {
  for (const e of workerEndpoints(config)) if (e.curve !== undefined) loadCurveClient(e.curve);
}
