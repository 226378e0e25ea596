/**
 * The one error type the daemon raises on purpose. `code` is stable (tests and
 * callers branch on it); `message` is written for a person or a model: the
 * action, the value received, what was expected and the next step.
 */
export type DaemonErrorCode =
  | 'CONFIG_INVALID'
  | 'VALIDATION'
  | 'BAD_FRAME'
  | 'WORKER_UNREACHABLE'
  | 'WORKER_TIMEOUT'
  | 'WORKER_ERROR'
  | 'EXTENSION_UNSUPPORTED'
  | 'JOB_FAILED'
  | 'JOB_CANCELLED'
  | 'JOB_TIMEOUT'
  | 'JOB_NOT_FOUND'
  | 'IMAGE_UNAVAILABLE'
  | 'BAD_IMAGE'
  | 'PATH_OUTSIDE_ASSETS'
  | 'PATH_INVALID'
  | 'MANIFEST_INVALID'
  | 'DEPLOY_FAILED'
  | 'BUSY'
  | 'NOT_READY';

export class DaemonError extends Error {
  constructor(
    readonly code: DaemonErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'DaemonError';
  }
}

/** True when `err` is a DaemonError with one of `codes` (any code when none given). */
export function isDaemonError(err: unknown, ...codes: DaemonErrorCode[]): err is DaemonError {
  return err instanceof DaemonError && (codes.length === 0 || codes.includes(err.code));
}

/** The message of anything thrown, for logs and wrapped errors. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
