import { DecodeError, Decoder } from '@msgpack/msgpack';
import { FACINGS_8, type Facing } from '../protocol/pose.js';
import type { EngineJob } from './engine.js';

/**
 * Reading a request frame the way the Python worker does (PROTOCOL.md
 * "Observed behaviour" 10–11): anything it cannot parse becomes
 * `{type: "error", message}` carrying the text Python's exception would have
 * (`Unknown request type: frobnicate`, `'model'`, `Unpack failed: incomplete input`).
 * Field types Python never checks are checked here; a mistyped `generate`
 * gets `job_error` (as in Python) but, unlike Python, is not queued.
 */

/** Becomes `{type: "error", message}`; `message` mimics Python's `str(exception)`. */
export class RequestError extends Error {}

export interface QueuedJob {
  job: EngineJob;
  returnImage: boolean;
}

export type ParsedRequest =
  | { type: 'generate'; jobId: string; value: QueuedJob }
  | { type: 'generate_rejected'; jobId: string; error: string }
  | { type: 'cancel'; jobId: string }
  | { type: 'job_status'; jobId: string }
  | { type: 'capabilities' }
  | { type: 'list_models' }
  | { type: 'status' }
  | { type: 'ping' };

/** Python's name for the type of a decoded value (`'list' object has no attribute 'get'`). */
function pythonTypeName(value: unknown): string {
  if (value === null || value === undefined) return 'NoneType';
  if (Array.isArray(value)) return 'list';
  if (value instanceof Uint8Array) return 'bytes';
  if (typeof value === 'string') return 'str';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (typeof value === 'bigint') return 'int';
  return 'dict';
}

/** Python's str() of a decoded value, for `Unknown request type: <value>`. */
export function pythonStr(value: unknown, nested = false): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'string')
    return nested ? `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'` : value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return `[${value.map((v) => pythonStr(v, true)).join(', ')}]`;
  if (value instanceof Uint8Array) return `b'${Buffer.from(value).toString('latin1')}'`;
  return `{${Object.entries(value as Record<string, unknown>)
    .map(([k, v]) => `'${k}': ${pythonStr(v, true)}`)
    .join(', ')}}`;
}

// One decoder for every frame: `decode()` builds a new one per call, which costs on the ping path.
const decoder = new Decoder();

function decodeLikePython(frame: Uint8Array): unknown {
  if (frame.length === 0) throw new RequestError('Unpack failed: incomplete input');
  try {
    return decoder.decode(frame);
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    if (text.startsWith('Extra ')) throw new RequestError('unpack(b) received extra data.');
    if (text.startsWith('Insufficient data'))
      throw new RequestError('Unpack failed: incomplete input');
    // The real worker answers a reserved type byte (0xc1) with a bare FormatError, i.e. an
    // empty message (shared/protocol/python-capture frames 127-128).
    if (err instanceof DecodeError && text.startsWith('Unrecognized type byte')) {
      throw new RequestError('');
    }
    throw new RequestError(`Unpack failed: ${text}`);
  }
}

const GENERATE_REQUIRED = ['id', 'prompt', 'model', 'size', 'steps', 'cfg_scale'] as const;

/** Parse one request frame. Throws RequestError (→ `error` reply) for what Python would reject. */
export function parseRequest(frame: Uint8Array): ParsedRequest {
  const value = decodeLikePython(frame);
  if (
    value === null ||
    typeof value !== 'object' ||
    Array.isArray(value) ||
    value instanceof Uint8Array
  ) {
    throw new RequestError(`'${pythonTypeName(value)}' object has no attribute 'get'`);
  }
  const map = value as Record<string, unknown>;
  const type = map.type;
  switch (type) {
    case 'generate': {
      for (const key of GENERATE_REQUIRED) if (!(key in map)) throw new RequestError(`'${key}'`);
      const id = map.id;
      const jobId = typeof id === 'string' ? id : pythonStr(id);
      const checked = checkGenerate(map);
      return typeof checked === 'string'
        ? { type: 'generate_rejected', jobId, error: checked }
        : { type: 'generate', jobId, value: checked };
    }
    case 'cancel':
    case 'job_status': {
      if (!('job_id' in map)) throw new RequestError(`'job_id'`);
      const jobId = typeof map.job_id === 'string' ? map.job_id : pythonStr(map.job_id);
      return { type, jobId };
    }
    case 'list_models':
    case 'status':
    case 'ping':
    case 'capabilities':
      return { type };
    default:
      throw new RequestError(`Unknown request type: ${pythonStr(type)}`);
  }
}

const isInt = (v: unknown, min: number, max: number): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
const got = (v: unknown): string => `${JSON.stringify(v) ?? String(v)} (${pythonTypeName(v)})`;
const absent = (v: unknown): boolean => v === undefined || v === null;

/** The full check of a generate request; a string is the job_error text. */
function checkGenerate(map: Record<string, unknown>): QueuedJob | string {
  const bad = (field: string, expected: string, hint = ''): string =>
    `generate rejected: ${field} must be ${expected}; got ${got(map[field])}${hint}. The job was not queued.`;
  const { id, prompt, model, size, steps, cfg_scale: cfg } = map;
  if (typeof id !== 'string' || id === '') return bad('id', 'a non-empty string (a UUID)');
  if (typeof prompt !== 'string') return bad('prompt', 'a string');
  if (typeof model !== 'string') return bad('model', 'a string');
  if (!Array.isArray(size) || size.length !== 2 || !size.every((s) => isInt(s, 8, 4096))) {
    return bad('size', '[width, height] with integers in 8..4096', ', e.g. [1024, 1024]');
  }
  if (!isInt(steps, 1, 1000))
    return bad('steps', 'an integer in 1..1000', '; send numbers as numbers, not strings');
  if (typeof cfg !== 'number' || !Number.isFinite(cfg))
    return bad('cfg_scale', 'a number', ', e.g. 7.5');
  const job: EngineJob = {
    jobId: id,
    prompt,
    model,
    width: size[0] as number,
    height: size[1] as number,
    steps,
    cfgScale: cfg,
  };
  const {
    lora,
    batch_size,
    animation_frames,
    tileset_grid,
    seed,
    negative_prompt,
    style,
    return_image,
    pose,
    init_image,
    strength,
    mask,
    reference_images,
  } = map;
  if (!absent(lora)) {
    if (typeof lora !== 'string') return bad('lora', 'a string');
    job.lora = lora;
  }
  if (!absent(batch_size)) {
    if (!isInt(batch_size, 1, 64)) return bad('batch_size', 'an integer in 1..64');
    job.batchSize = batch_size;
  }
  if (!absent(animation_frames)) {
    if (!isInt(animation_frames, 1, 64)) return bad('animation_frames', 'an integer in 1..64');
    job.animationFrames = animation_frames;
  }
  if (!absent(tileset_grid)) {
    if (
      !Array.isArray(tileset_grid) ||
      tileset_grid.length !== 2 ||
      !tileset_grid.every((v) => isInt(v, 1, 16))
    ) {
      return bad('tileset_grid', '[cols, rows] with integers in 1..16', ', e.g. [4, 4]');
    }
    job.tilesetGrid = [tileset_grid[0] as number, tileset_grid[1] as number];
  }
  const cells =
    (job.animationFrames ?? 1) * (job.tilesetGrid ? job.tilesetGrid[0] * job.tilesetGrid[1] : 1);
  if (cells * job.width * job.height > 64 * 1024 * 1024) {
    return `generate rejected: size ${job.width}x${job.height} times ${cells} frames/tiles is over 64 megapixels; use a smaller size or fewer frames. The job was not queued.`;
  }
  if (!absent(seed)) {
    if (!isInt(seed, -(2 ** 53), 2 ** 53)) return bad('seed', 'an integer');
    job.seed = seed;
  }
  if (!absent(negative_prompt)) {
    if (typeof negative_prompt !== 'string') return bad('negative_prompt', 'a string');
    job.negativePrompt = negative_prompt;
  }
  if (!absent(style)) {
    if (typeof style !== 'string') return bad('style', 'a string');
    job.style = style;
  }
  if (!absent(pose)) {
    const p = pose as { facing?: unknown; animation?: unknown };
    if (
      typeof pose !== 'object' ||
      Array.isArray(pose) ||
      pose instanceof Uint8Array ||
      !FACINGS_8.includes(p.facing as Facing) ||
      typeof p.animation !== 'string' ||
      p.animation === ''
    ) {
      return bad(
        'pose',
        `{facing: ${FACINGS_8.join(' | ')}, animation: a name}`,
        ', e.g. {"facing": "east", "animation": "walk"}',
      );
    }
    job.pose = { facing: p.facing as Facing, animation: p.animation };
  }
  const conditioning = checkConditioning(job, { init_image, strength, mask, reference_images });
  if (conditioning !== undefined) return conditioning;
  if (!absent(return_image) && typeof return_image !== 'boolean')
    return bad('return_image', 'true or false');
  return { job, returnImage: return_image === true };
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** At most this many reference images (Retro Diffusion takes up to 9). */
export const MAX_REFERENCE_IMAGES = 9;
/** At most this many bytes per conditioning image. */
export const MAX_CONDITIONING_PNG_BYTES = 32 * 1024 * 1024;

/** Why `value` is not PNG bytes (undefined when it looks like one: signature + IHDR). */
function notPng(value: unknown): string | undefined {
  if (!(value instanceof Uint8Array)) return `got ${pythonTypeName(value)}, not msgpack bin`;
  if (value.length > MAX_CONDITIONING_PNG_BYTES)
    return `got ${value.length} bytes, over ${MAX_CONDITIONING_PNG_BYTES}`;
  if (value.length < 33 || PNG_SIGNATURE.some((b, i) => value[i] !== b))
    return `got ${value.length} bytes that do not start with the PNG signature`;
  if (Buffer.from(value.subarray(12, 16)).toString('latin1') !== 'IHDR')
    return 'got a PNG signature without an IHDR chunk';
  return undefined;
}

/**
 * Check the image conditioning fields (protocol/conditioning.ts) into `job`; a string is
 * the job_error text naming the field and the fix. PNG bytes are checked for the
 * signature here; the engine decodes them (and names the field when that fails).
 */
function checkConditioning(
  job: EngineJob,
  fields: { init_image: unknown; strength: unknown; mask: unknown; reference_images: unknown },
): string | undefined {
  const refuse = (text: string): string => `generate rejected: ${text}. The job was not queued.`;
  const { init_image, strength, mask, reference_images } = fields;
  if (!absent(init_image)) {
    const why = notPng(init_image);
    if (why !== undefined) return refuse(`init_image must be PNG bytes (msgpack bin); ${why}`);
    job.initImage = init_image as Uint8Array;
  }
  if (!absent(strength)) {
    if (typeof strength !== 'number' || !Number.isFinite(strength) || strength < 0 || strength > 1)
      return refuse(
        `strength must be a number in 0..1 (0 keeps init_image, 1 repaints it all); got ${got(strength)}`,
      );
    if (job.initImage === undefined)
      return refuse(
        'strength applies to init_image, which is absent; send init_image or leave strength out',
      );
    job.strength = strength;
  }
  if (!absent(mask)) {
    if (job.initImage === undefined)
      return refuse(
        'mask needs init_image (the picture to repaint where the mask is white); send init_image or leave mask out',
      );
    const why = notPng(mask);
    if (why !== undefined)
      return refuse(`mask must be PNG bytes (msgpack bin, white = repaint); ${why}`);
    job.mask = mask as Uint8Array;
  }
  if (!absent(reference_images)) {
    if (
      !Array.isArray(reference_images) ||
      reference_images.length === 0 ||
      reference_images.length > MAX_REFERENCE_IMAGES
    ) {
      return refuse(
        `reference_images must be an array of 1..${MAX_REFERENCE_IMAGES} PNG images (msgpack bin each); got ${Array.isArray(reference_images) ? `${reference_images.length} items` : pythonTypeName(reference_images)}`,
      );
    }
    for (const [i, ref] of reference_images.entries()) {
      const why = notPng(ref);
      if (why !== undefined)
        return refuse(`reference_images[${i}] must be PNG bytes (msgpack bin); ${why}`);
    }
    job.referenceImages = reference_images as Uint8Array[];
  }
  if (
    job.initImage !== undefined &&
    ((job.animationFrames ?? 1) > 1 || job.tilesetGrid !== undefined)
  ) {
    return refuse(
      'init_image conditions one picture; it cannot be combined with animation_frames > 1 or tileset_grid. Send one generate per frame, or leave init_image out',
    );
  }
  return undefined;
}
