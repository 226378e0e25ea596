import type { DaemonErrorCode } from '../errors.js';
import { extensionsUsed } from '../protocol/conditioning.js';
import type { GenerationStage, WireGenerateRequest } from '../protocol/messages.js';
import type { Pose } from '../protocol/pose.js';

/**
 * What a caller asks a worker to generate (camelCase; converted to the wire's
 * snake_case only in `toWireRequest`). Validate user input before building
 * one: the worker echoes whatever types it is sent (PROTOCOL.md "Observed" 6, 8).
 */
export interface WorkerJobParams {
  prompt: string;
  model: string;
  /** [width, height] in pixels. */
  size: [number, number];
  steps: number;
  cfgScale: number;
  lora?: string | undefined;
  batchSize?: number | undefined;
  animationFrames?: number | undefined;
  /** [cols, rows] */
  tilesetGrid?: [number, number] | undefined;
  /** extension: ignored by the Python worker */
  seed?: number | undefined;
  /** extension */
  negativePrompt?: string | undefined;
  /** extension */
  style?: string | undefined;
  /** extension: ask for inline PNG bytes in job_complete (default: config backend.return_image). */
  returnImage?: boolean | undefined;
  /**
   * extension `pose` (protocol/pose.ts): a character's facing and animation. The pool
   * sends it only to workers whose `capabilities` list `pose`.
   */
  pose?: Pose | undefined;
  /**
   * extensions `init_image`, `mask`, `reference_images` (protocol/conditioning.ts): PNG bytes.
   * Sent only to workers whose `capabilities` list each one.
   */
  initImage?: Uint8Array | undefined;
  /** 0..1, how much of initImage may change; only with initImage */
  strength?: number | undefined;
  /** PNG, white = repaint; only with initImage */
  mask?: Uint8Array | undefined;
  referenceImages?: Uint8Array[] | undefined;
}

/** Progress as shown to people: clamped to 0..100 and never going backwards. */
export interface JobProgress {
  jobId: string;
  state: 'queued' | 'running';
  stage: GenerationStage | 'queued';
  /** 0..100, monotonic */
  percent: number;
  /** monotonic, at most totalSteps */
  step: number;
  totalSteps: number;
  /** seconds, >= 0; the Python worker's estimate is rough (starts near 14.5 s). */
  etaS: number;
}

/** What one worker reported for one job. `image` only when the worker sent it inline. */
export type WorkerJobResult =
  | { status: 'completed'; imagePath: string; image?: Uint8Array; durationS: number }
  | { status: 'failed'; error: string; code: WorkerFailureCode }
  | { status: 'cancelled' };

/**
 * Why a job failed on a worker. `not_started` failures (rejected before the
 * worker ran it, unreachable, restarted while queued) can be retried elsewhere.
 */
export type WorkerFailureCode =
  | 'rejected'
  | 'job_error'
  | 'timeout'
  | 'unreachable'
  | 'lost'
  | 'not_started';

/** One event of a job's stream, in arrival order after reordering quirks are absorbed. */
export type JobEvent =
  | { kind: 'accepted'; estimatedTimeS: number }
  | { kind: 'started' }
  /** the worker began executing it (second job_started, first progress, or job_state running) */
  | { kind: 'running' }
  | { kind: 'progress'; progress: JobProgress }
  | { kind: 'finished'; success: boolean; durationS: number }
  | { kind: 'result'; result: WorkerJobResult };

/** The final outcome of a submitted job, as the pool reports it to callers. */
export type JobOutcome =
  | {
      status: 'completed';
      /** PNG bytes (signature verified). */
      image: Buffer;
      /** Where the raw PNG was stored under the state dir. */
      imagePath: string;
      /** Worker-reported start-to-finish seconds (job_complete.duration_s). */
      durationS: number;
      workerName: string;
    }
  | {
      status: 'failed';
      error: string;
      /** Why, as the DaemonError code callers map to wording (never parse `error`). */
      code: JobFailureCode;
    }
  | { status: 'cancelled' };

/** The failure codes a job outcome carries. */
export type JobFailureCode = Extract<
  DaemonErrorCode,
  'WORKER_UNREACHABLE' | 'JOB_TIMEOUT' | 'JOB_FAILED' | 'NOT_READY' | 'IMAGE_UNAVAILABLE'
>;

/** A worker's failure reason as the outcome's code. */
export function outcomeCode(code: WorkerFailureCode): JobFailureCode {
  switch (code) {
    case 'timeout':
      return 'JOB_TIMEOUT';
    case 'unreachable':
    case 'not_started':
      return 'WORKER_UNREACHABLE';
    default:
      return 'JOB_FAILED';
  }
}

/** Returned by `WorkerPool.submit`: the id at once, the outcome later (never rejects). */
export interface JobHandle {
  jobId: string;
  done: Promise<JobOutcome>;
}

/** One worker's health as `WorkerPool.status()` reports it. */
export interface WorkerHealth {
  name: string;
  req: string;
  pub: string;
  reachable: boolean;
  /** From the last status_info; undefined until one arrived. */
  version?: string | undefined;
  queueSize?: number | undefined;
  activeJobs?: number | undefined;
  uptimeS?: number | undefined;
  /** Jobs this daemon has sent there that have not ended. */
  inFlight: number;
  /** Last error text when unreachable. */
  error?: string | undefined;
}

/** One worker's protocol extensions as `WorkerPool.capabilities()` reports them. */
export interface WorkerCapabilities {
  name: string;
  /** The worker's REQ endpoint, for error texts (absent in test doubles). */
  req?: string | undefined;
  /** Extension names; [] for a worker without `capabilities`; undefined when it did not answer. */
  extensions: string[] | undefined;
  error?: string | undefined;
}

/** camelCase params → the wire's generate request, optional fields omitted when unset. */
export function toWireRequest(
  id: string,
  p: WorkerJobParams,
  returnImage: boolean,
): WireGenerateRequest {
  const req: WireGenerateRequest = {
    type: 'generate',
    id,
    prompt: p.prompt,
    model: p.model,
    size: [p.size[0], p.size[1]],
    steps: p.steps,
    cfg_scale: p.cfgScale,
  };
  if (p.lora !== undefined) req.lora = p.lora;
  if (p.batchSize !== undefined) req.batch_size = p.batchSize;
  if (p.animationFrames !== undefined) req.animation_frames = p.animationFrames;
  if (p.tilesetGrid !== undefined) req.tileset_grid = [p.tilesetGrid[0], p.tilesetGrid[1]];
  if (p.returnImage ?? returnImage) req.return_image = true;
  if (p.seed !== undefined) req.seed = p.seed;
  if (p.negativePrompt !== undefined) req.negative_prompt = p.negativePrompt;
  if (p.style !== undefined) req.style = p.style;
  if (p.pose !== undefined) req.pose = { facing: p.pose.facing, animation: p.pose.animation };
  if (p.initImage !== undefined) req.init_image = p.initImage;
  if (p.strength !== undefined) req.strength = p.strength;
  if (p.mask !== undefined) req.mask = p.mask;
  // an empty list conditions nothing (requiredExtensions ignores it): not sent
  if (p.referenceImages !== undefined && p.referenceImages.length > 0)
    req.reference_images = [...p.referenceImages];
  return req;
}

/**
 * The protocol extensions a worker must list in `capabilities_info.extensions` to be
 * sent these params (the Python worker drops unknown `generate` fields silently, so a
 * job with any of them goes only to workers that list every one), in wire order.
 */
export function requiredExtensions(p: WorkerJobParams): string[] {
  return extensionsUsed(p);
}
