import type { GenerationStage, ModelInfo } from '../protocol/messages.js';
import type { Pose } from '../protocol/pose.js';

/** One generation as an engine sees it (wire names converted at the server edge). */
export interface EngineJob {
  jobId: string;
  prompt: string;
  model: string;
  width: number;
  height: number;
  steps: number;
  cfgScale: number;
  lora?: string;
  batchSize?: number;
  animationFrames?: number;
  tilesetGrid?: [number, number];
  seed?: number;
  negativePrompt?: string;
  style?: string;
  /** Extension `pose`: facing and animation of a character (protocol/pose.ts). */
  pose?: Pose;
  /** Extension `init_image` (protocol/conditioning.ts): PNG bytes (signature checked, not decoded). */
  initImage?: Uint8Array;
  /** 0..1, how much of initImage may change; only with initImage. */
  strength?: number;
  /** Extension `mask`: PNG bytes, white = repaint; only with initImage. */
  mask?: Uint8Array;
  /** Extension `reference_images`: PNG bytes each, at least one. */
  referenceImages?: Uint8Array[];
}

export interface EngineProgress {
  stage: GenerationStage;
  step: number;
  totalSteps: number;
  /** 0–100, monotonic within a job. */
  percent: number;
  etaS: number;
}

export interface EngineContext {
  /** Aborted on cancel or shutdown; the engine stops and throws soon after. */
  signal: AbortSignal;
  /** Publishes a progress update; awaiting it keeps PUB order. */
  progress(update: EngineProgress): Promise<void>;
}

export interface EngineResult {
  png: Uint8Array;
  /** The engine's own generation time (job_finished.duration_s), seconds. */
  durationS: number;
  /** Extra files written beside the image: `<image name><suffix>` (e.g. `.truth.json`). */
  sidecars?: { suffix: string; data: Uint8Array }[];
}

/** A way to turn a job into a PNG: procedural (built in) or a ComfyUI server. */
export interface Engine {
  readonly name: 'procedural' | 'comfyui';
  /** Protocol extensions of this engine beyond the worker's own (e.g. `pose`), for `capabilities`. */
  readonly extensions?: readonly string[];
  /** Why an extension this kind of engine can have is absent here (e.g. a node ComfyUI lacks), for refusals. */
  readonly unsupported?: Readonly<Record<string, string>>;
  /** The engine's models, sorted case-insensitively by name (PROTOCOL.md "model_list"). */
  listModels(): Promise<ModelInfo[]>;
  /** Throws an Error whose message becomes job_error's text; honours ctx.signal. */
  generate(job: EngineJob, ctx: EngineContext): Promise<EngineResult>;
  close(): Promise<void>;
}

/** Sort models the way the Python worker does: by name, case-insensitively. */
export function sortModels(models: ModelInfo[]): ModelInfo[] {
  return [...models].sort((a, b) => {
    const x = a.name.toLowerCase();
    const y = b.name.toLowerCase();
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleepMs(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const done = (): void => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    };
    const timer = ms <= 0 ? setImmediate(done) : setTimeout(done, ms);
    const onAbort = (): void => {
      if (ms <= 0) clearImmediate(timer as NodeJS.Immediate);
      else clearTimeout(timer as NodeJS.Timeout);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
