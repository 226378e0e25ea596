import type { EventEmitter } from 'node:events';
import type { DaemonErrorCode } from '../errors.js';
import type { DeployResult } from './results.js';

/**
 * The job types the SpriteService hands out (service/index.ts re-exports them), the
 * per-job record it keeps, and the constants of its progress scale.
 */

export type JobStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

export interface SpriteRequest {
  prompt: string;
  style: string;
  /** Model output size, [w, h] px. */
  resolution: [number, number];
  steps: number;
  cfgScale: number;
  lora?: string | undefined;
  /** Where the post-processed sprite goes; default `<state_dir>/sprites/<job id>.png`. */
  outputPath?: string | undefined;
  /** false → the raw model output is the result. */
  postprocess: boolean;
  /** Target sprite size [w, h] px; default from the style preset. */
  size?: [number, number] | undefined;
  palette?: string | undefined;
  /** `palette: "project"` resolved by the service: the deployed sprites' colours, `#rrggbb`. */
  paletteColours?: string[] | undefined;
  colors?: number | undefined;
  removeBackground?: boolean | undefined;
  outline?: boolean | string | undefined;
  animationFrames?: number | undefined;
  tilesetGrid?: [number, number] | undefined;
  seed?: number | undefined;
  negativePrompt?: string | undefined;
  /** Sprite name for deploy (and the manifest entry). */
  name?: string | undefined;
  deploy: boolean;
  /** Assets root for deploy; default deployment.bevy_assets_base. */
  assetsDir?: string | undefined;
  thumbnail?: { maxSize: number; maxBytes: number } | undefined;
  /**
   * generate_sprite / generate_batch `reference`: deployed sprite names or PNG paths
   * (resolved by the service into `conditioning`).
   */
  reference?: string[] | undefined;
  /** `init_image`: a PNG path (resolved by the service into `conditioning`). */
  initImagePath?: string | undefined;
  /** 0..1, how much of the init image may change. */
  strength?: number | undefined;
  /** Image conditioning, resolved by the service (service/conditioning.ts); never set by a tool. */
  conditioning?: Conditioning | undefined;
}

/** Image conditioning of a job (issue 15): PNG bytes at the generation size, and the finish. */
export interface Conditioning {
  initImage?: Buffer | undefined;
  strength?: number | undefined;
  /** White = repaint, at the generation size. */
  mask?: Buffer | undefined;
  referenceImages?: Buffer[] | undefined;
  /** The source sprite's anchor: the result's figure is placed on it. */
  anchor?: { x: number; y: number } | undefined;
  /** An edit: the original sprite (RGBA) and the sprite-space mask (1 = repaint) it is composited with. */
  composite?:
    | { original: { data: Uint8Array; width: number; height: number }; mask: Uint8Array }
    | undefined;
  /** sha256 of every image and the strength: part of the raw-output cache key. */
  key: string;
}

/** What a finished character job (generate_character) adds to its view. */
export interface CharacterInfo {
  seed: number;
  directions: 4 | 8;
  facings: string[];
  columns: number;
  rows: number;
  frameWidth: number;
  frameHeight: number;
  tags: Record<string, [number, number]>;
  palette: string[];
  anchor: { x: number; y: number };
  /** Worker jobs run (0 when answered from the raw-output cache). */
  workerJobs: number;
}

export interface JobView {
  jobId: string;
  status: JobStatus;
  prompt: string;
  createdAt: string;
  /** Overall progress 0–100 and what the job is doing now. */
  percent: number;
  stage: string;
  message: string;
  etaS: number | undefined;
  outputPath: string | undefined;
  rawPath: string | undefined;
  width: number | undefined;
  height: number | undefined;
  /** sprite, sheet (animation strip) or tileset; undefined for raw output. */
  kind: 'sprite' | 'sheet' | 'tileset' | undefined;
  generationTimeS: number | undefined;
  workerName: string | undefined;
  cached: boolean;
  deployed: DeployResult | undefined;
  thumbnailPng: Buffer | undefined;
  /** A sheet's Aseprite json-hash atlas (character sets): deployed beside the PNG, else in the state dir. */
  atlasPath: string | undefined;
  /** A character set's facings, tags, grid, palette and anchor (generate_character). */
  character: CharacterInfo | undefined;
  error: string | undefined;
  /** The DaemonError code behind `error`, for tool-error wording. */
  errorCode: DaemonErrorCode | undefined;
}

export interface JobRecord {
  view: JobView;
  request: SpriteRequest;
  /** True once the job reached the worker pool (under the same id). */
  submitted: boolean;
  abort: AbortController;
  done: Promise<JobView>;
  events: EventEmitter;
}

export const TERMINAL: ReadonlySet<JobStatus> = new Set(['completed', 'failed', 'cancelled']);
/** Ended jobs kept for get_job / list_jobs (oldest dropped first), as the backend's JobStore keeps 1000. */
export const MAX_KEPT_JOBS = 1000;
/** Share of the 0–100 scale the worker's generation takes; post-processing and deploy get the rest. */
export const GENERATION_SHARE = 90;

/**
 * A JobView with the identity and progress fields given and every result field
 * unset (undefined, `cached` false); `fields` may set any of them. Keys stay in
 * JobView order, so every view serialises alike.
 */
export function newJobView(
  fields: Pick<
    JobView,
    'jobId' | 'status' | 'prompt' | 'createdAt' | 'percent' | 'stage' | 'message'
  > &
    Partial<JobView>,
): JobView {
  const { jobId, status, prompt, createdAt, percent, stage, message, ...results } = fields;
  return {
    jobId,
    status,
    prompt,
    createdAt,
    percent,
    stage,
    message,
    etaS: undefined,
    outputPath: undefined,
    rawPath: undefined,
    width: undefined,
    height: undefined,
    kind: undefined,
    generationTimeS: undefined,
    workerName: undefined,
    cached: false,
    deployed: undefined,
    thumbnailPng: undefined,
    atlasPath: undefined,
    character: undefined,
    error: undefined,
    errorCode: undefined,
    ...results,
  };
}

/** [width, height] from a PNG's IHDR, or undefined when `buf` is not a PNG. No sharp needed. */
export function pngSize(buf: Buffer): [number, number] | undefined {
  if (
    buf.length < 24 ||
    buf.readUInt32BE(0) !== 0x89504e47 ||
    buf.toString('ascii', 12, 16) !== 'IHDR'
  ) {
    return undefined;
  }
  return [buf.readUInt32BE(16), buf.readUInt32BE(20)];
}
