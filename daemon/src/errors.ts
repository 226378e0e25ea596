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

/**
 * A WORKER_UNREACHABLE error in the seed's wording ("Backend connection failed: <detail>").
 * Every WORKER_UNREACHABLE error and outcome starts so, so callers map it by code alone.
 */
export function connectionFailed(detail: string, options?: ErrorOptions): DaemonError {
  return new DaemonError('WORKER_UNREACHABLE', connectionFailedText(detail), options);
}

/** The seed's sentence for an unreachable backend, followed by the detail. */
export function connectionFailedText(detail: string): string {
  return `Backend connection failed: ${detail}`;
}

/** True when `err` is a DaemonError with one of `codes` (any code when none given). */
export function isDaemonError(err: unknown, ...codes: DaemonErrorCode[]): err is DaemonError {
  return err instanceof DaemonError && (codes.length === 0 || codes.includes(err.code));
}

/** The message of anything thrown, for logs and wrapped errors. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
