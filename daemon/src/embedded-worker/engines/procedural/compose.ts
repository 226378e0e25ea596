import sharp from 'sharp';
import { applyReference, type ReferenceLook } from './conditioning.js';
import {
  choosePlacement,
  type GroundTruth,
  type RawImage,
  renderLikeModelSteps,
} from './render.js';
import { hashString } from './rng.js';
import { drawSprite, type LogicalSprite } from './sprite.js';

/** One procedural picture: a single sprite, an animation strip or a tileset grid. */
export interface ProceduralRequest {
  prompt: string;
  seed: number;
  style?: string;
  /** Size of one sprite / frame / tile in output pixels (the request's `size`). */
  width: number;
  height: number;
  /** N > 1: N frames side by side (image width N × width). */
  frames?: number;
  /** [cols, rows]: a tileset, each cell width × height. */
  grid?: [number, number];
  /** Extension `pose`: the character turned to `facing`, frames of `animation` (protocol/pose.ts). */
  pose?: { facing: string; animation: string };
  /** Extension `reference_images`: every sprite redrawn in the first reference's look (conditioning.ts). */
  reference?: ReferenceLook;
}

/** The procedural motion of an animation name: walk/run cycle, one still frame, else an idle bob. */
export function motionOf(animation: string): 'walk' | 'idle' | 'stand' {
  const a = animation.toLowerCase();
  if (a.startsWith('walk') || a.startsWith('run')) return 'walk';
  if (a === 'stand') return 'stand';
  return 'idle';
}

/** Ground truth of a whole image: the per-cell placement plus the cell layout. */
export interface SheetTruth extends GroundTruth {
  /** Cells across and down (1×1 for a single sprite). */
  cells: [number, number];
  /** Output size of one cell. */
  cellSize: [number, number];
  kind: LogicalSprite['kind'];
  subtype: string;
  style: LogicalSprite['style'];
}

export interface ProceduralPicture {
  image: RawImage;
  /** Logical pixels of every cell laid out like the image (RGBA). */
  logical: { width: number; height: number; rgba: Uint8Array };
  truth: SheetTruth;
}

/**
 * Draw and render everything a request asks for. Frames of an animation share
 * one placement (only the pose changes); tiles share placement, palette and
 * border. Deterministic in (prompt, seed, style, size, frames, grid).
 */
export function renderProcedural(request: ProceduralRequest): ProceduralPicture {
  const steps = renderProceduralSteps(request);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * `renderProcedural` that yields to the event loop between slices of rows and
 * stops with the signal's reason when it aborts. Same bytes.
 */
export async function renderProceduralAsync(
  request: ProceduralRequest,
  signal?: AbortSignal,
): Promise<ProceduralPicture> {
  const steps = renderProceduralSteps(request);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    await new Promise((resolve) => setImmediate(resolve));
    if (signal?.aborted) throw signal.reason;
  }
}

function* renderProceduralSteps(request: ProceduralRequest): Generator<void, ProceduralPicture> {
  const frames = Math.max(1, request.frames ?? 1);
  const [cols, rows] = request.grid ?? [frames, 1];
  const tileset = request.grid !== undefined;
  const count = cols * rows;
  let sprites: LogicalSprite[] = [];
  for (let k = 0; k < count; k++) {
    sprites.push(
      drawSprite({
        prompt: request.prompt,
        seed: request.seed,
        ...(request.style === undefined ? {} : { style: request.style }),
        ...(tileset ? { tileIndex: k, forceTile: true } : { frame: k }),
        ...(request.pose === undefined
          ? {}
          : { facing: request.pose.facing, motion: motionOf(request.pose.animation) }),
      }),
    );
  }
  if (request.reference !== undefined) sprites = applyReference(sprites, request.reference);
  const first = sprites[0] as LogicalSprite;
  const renderSeed = hashString(`${request.prompt}|${request.style ?? ''}`, request.seed);
  const placement = choosePlacement(first, request.width, request.height, renderSeed);
  const W = request.width * cols;
  const H = request.height * rows;
  const data = new Uint8Array(W * H * 3);
  const lw = first.width * cols;
  const lh = first.height * rows;
  const rgba = new Uint8Array(lw * lh * 4);
  let truth: GroundTruth | undefined;
  for (const [k, sprite] of sprites.entries()) {
    const cx = k % cols;
    const cy = Math.floor(k / cols);
    const rendered = yield* renderLikeModelSteps(sprite, {
      width: request.width,
      height: request.height,
      seed: renderSeed + k * 7919,
      placement,
    });
    truth ??= rendered.truth;
    const src = rendered.image.data;
    for (let y = 0; y < request.height; y++) {
      const from = y * request.width * 3;
      data.set(
        src.subarray(from, from + request.width * 3),
        ((cy * request.height + y) * W + cx * request.width) * 3,
      );
    }
    for (let y = 0; y < sprite.height; y++) {
      const from = y * sprite.width * 4;
      rgba.set(
        sprite.rgba.subarray(from, from + sprite.width * 4),
        ((cy * sprite.height + y) * lw + cx * sprite.width) * 4,
      );
    }
  }
  return {
    image: { width: W, height: H, channels: 3, data },
    logical: { width: lw, height: lh, rgba },
    truth: {
      ...(truth as GroundTruth),
      cells: [cols, rows],
      cellSize: [request.width, request.height],
      kind: first.kind,
      subtype: first.subtype,
      style: first.style,
    },
  };
}

/**
 * PNG bytes of a rendered image after a JPEG round trip (quality 90 by default):
 * the mild 8×8 block and ringing artefacts real model outputs carry once they
 * have been through a web UI or a re-encode. Deterministic for a given libvips.
 */
export async function encodeLikeModel(image: RawImage, jpegQuality = 90): Promise<Buffer> {
  const raw = { raw: { width: image.width, height: image.height, channels: image.channels } };
  const jpeg = await sharp(image.data, raw)
    .jpeg({ quality: jpegQuality, chromaSubsampling: '4:2:0' })
    .toBuffer();
  return sharp(jpeg).png({ compressionLevel: 3 }).toBuffer();
}

/** PNG of the logical pixels (RGBA, transparent background): the ground truth picture. */
export async function encodeTruthPng(logical: ProceduralPicture['logical']): Promise<Buffer> {
  return sharp(logical.rgba, { raw: { width: logical.width, height: logical.height, channels: 4 } })
    .png()
    .toBuffer();
}
