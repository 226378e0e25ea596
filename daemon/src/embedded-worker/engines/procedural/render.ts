import type { Rgb } from './colour.js';
import { createRng, hashString } from './rng.js';
import type { LogicalSprite } from './sprite.js';

/** Where the logical grid sits in the rendered image: what a grid detector must find. */
export interface GroundTruth {
  logicalSize: [number, number];
  /** Output pixels per logical pixel; never an integer. */
  scale: number;
  /** Top-left corner of logical pixel (0, 0) in output pixels; sub-pixel. */
  offset: [number, number];
  /** The (noise-free) background colour. */
  background: [number, number, number];
}

/** A raw RGB image (3 channels, row-major, no padding). */
export interface RawImage {
  width: number;
  height: number;
  channels: 3;
  data: Uint8Array;
}

export interface RenderOptions {
  width: number;
  height: number;
  seed: number;
  /** Force a placement (all frames of a sheet share one); otherwise seeded. */
  placement?: Pick<GroundTruth, 'scale' | 'offset' | 'background'>;
}

/**
 * The seeded placement of a sprite in a `width`×`height` image: it spans
 * 70–86 % of the short side at a non-integer scale, with a sub-pixel offset
 * and a light, slightly tinted background, like SDXL pixel-art LoRA output.
 */
export function choosePlacement(
  sprite: Pick<LogicalSprite, 'width' | 'height'>,
  width: number,
  height: number,
  seed: number,
): Pick<GroundTruth, 'scale' | 'offset' | 'background'> {
  const rng = createRng(hashString('placement', seed));
  let scale =
    (Math.min(width, height) * rng.range(0.7, 0.86)) / Math.max(sprite.width, sprite.height);
  const frac = scale - Math.floor(scale);
  if (frac < 0.15 || frac > 0.85) scale = Math.floor(scale) + rng.range(0.3, 0.7);
  const subPixel = (v: number): number => Math.floor(v) + rng.range(0.2, 0.8);
  const offset: [number, number] = [
    subPixel((width - sprite.width * scale) / 2 + rng.range(-0.04, 0.04) * width),
    subPixel((height - sprite.height * scale) / 2 + rng.range(-0.04, 0.04) * height),
  ];
  const hue = rng.range(0, 360);
  const light = rng.range(0.84, 0.95);
  const tint = rng.range(0.03, 0.1);
  const background: [number, number, number] = [0, 60, 120].map((phase) =>
    Math.round(255 * (light + tint * Math.cos(((hue + phase) * Math.PI) / 180) - tint / 2)),
  ) as [number, number, number];
  return { scale, offset, background };
}

const smooth = (t: number): number => (t <= 0 ? 0 : t >= 1 ? 1 : t * t * (3 - 2 * t));

/**
 * Render a logical sprite the way a diffusion model's pixel-art output looks:
 * each logical pixel a block of `scale` output pixels (non-integer), edges
 * blended over about one output pixel, every block's colour slightly off, per
 * pixel colour noise, and an opaque background with a faint gradient. Pure:
 * same sprite and options → same bytes. Compression artefacts are added by
 * `encodeLikeModel`.
 */
export function renderLikeModel(sprite: LogicalSprite, options: RenderOptions): RenderedSprite {
  const steps = renderLikeModelSteps(sprite, options);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** A rendered sprite and where its grid is. */
export interface RenderedSprite {
  image: RawImage;
  truth: GroundTruth;
}

/** Rows rendered between yields of `renderLikeModelSteps` (keeps the event loop responsive). */
const ROWS_PER_STEP = 48;

/**
 * `renderLikeModel` in slices: yields every ROWS_PER_STEP rows so an async
 * caller can let sockets breathe (the worker's REP must answer pings while
 * it renders). Same bytes as `renderLikeModel`.
 */
export function* renderLikeModelSteps(
  sprite: LogicalSprite,
  options: RenderOptions,
): Generator<void, RenderedSprite> {
  const { width, height, seed } = options;
  const placement = options.placement ?? choosePlacement(sprite, width, height, seed);
  const { scale, offset, background } = placement;
  const rng = createRng(hashString('render', seed));
  const lw = sprite.width;
  const lh = sprite.height;

  // Each logical pixel drifts a few levels off its palette colour, as a model never paints flat.
  const cells = new Float32Array((lw + 2) * (lh + 2) * 3);
  const bg: Rgb = background;
  for (let j = -1; j <= lh; j++) {
    for (let i = -1; i <= lw; i++) {
      const k = ((j + 1) * (lw + 2) + (i + 1)) * 3;
      const inside = i >= 0 && j >= 0 && i < lw && j < lh;
      const p = (j * lw + i) * 4;
      const opaque = inside && (sprite.rgba[p + 3] as number) > 0;
      const drift = rng.normal() * 2.5;
      for (let ch = 0; ch < 3; ch++) {
        const v = opaque ? (sprite.rgba[p + ch] as number) : (bg[ch] as number);
        cells[k + ch] = v + (opaque ? drift + rng.normal() * 1.5 : 0);
      }
    }
  }

  const soft = rng.range(0.45, 0.8) / scale; // half-width of the blend band, logical units
  const data = new Uint8Array(width * height * 3);
  const noiseSd = rng.range(2, 3.5);
  const wave = rng.range(0, Math.PI * 2);
  // precompute per-column and per-row sample positions and weights
  const axis = (
    size: number,
    off: number,
    logical: number,
  ): { i0: Int32Array; w: Float32Array } => {
    const i0 = new Int32Array(size);
    const w = new Float32Array(size);
    for (let x = 0; x < size; x++) {
      const u = (x + 0.5 - off) / scale - 0.5;
      const base = Math.floor(u);
      const t = u - base;
      // outside the grid: sample the background ring (index -1 or `logical`) with no blend
      i0[x] = Math.max(-1, Math.min(logical - 1, base));
      w[x] = base < -1 ? 0 : base >= logical ? 1 : smooth((t - (0.5 - soft)) / (2 * soft));
    }
    return { i0, w };
  };
  const ax = axis(width, offset[0], lw);
  const ay = axis(height, offset[1], lh);
  const stride = lw + 2;
  // Noise from an inline xorshift32: 12 rng calls per pixel made 1024² renders CPU-bound.
  let state = hashString('noise', seed) | 1;
  const next32 = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
  const lumaScale = (noiseSd * 2.45) / 255; // triangular from two bytes: sd ≈ noiseSd
  const chromaScale = (1.2 * 3.46) / 255; // uniform byte: sd ≈ 1.2
  const colWave = new Float32Array(width);
  for (let x = 0; x < width; x++) colWave[x] = 2 * Math.sin(x / 83 + wave);
  const rowWave = new Float32Array(height);
  for (let y = 0; y < height; y++) rowWave[y] = Math.cos(y / 71 - wave);
  for (let y = 0; y < height; y++) {
    if (y > 0 && y % ROWS_PER_STEP === 0) yield;
    const j0 = (ay.i0[y] as number) + 1;
    const wy = ay.w[y] as number;
    const gradient = (y / height - 0.5) * 7;
    const rw = rowWave[y] as number;
    for (let x = 0; x < width; x++) {
      const i0 = (ax.i0[x] as number) + 1;
      const wx = ax.w[x] as number;
      const a = (j0 * stride + i0) * 3;
      const b = a + 3;
      const c = a + stride * 3;
      const d = c + 3;
      const w00 = (1 - wx) * (1 - wy);
      const w10 = wx * (1 - wy);
      const w01 = (1 - wx) * wy;
      const w11 = wx * wy;
      const r1 = next32();
      const r2 = next32();
      const base =
        ((r1 & 0xff) + ((r1 >>> 8) & 0xff) - 255) * lumaScale +
        gradient +
        (colWave[x] as number) * rw;
      const o = (y * width + x) * 3;
      for (let ch = 0; ch < 3; ch++) {
        const v =
          (cells[a + ch] as number) * w00 +
          (cells[b + ch] as number) * w10 +
          (cells[c + ch] as number) * w01 +
          (cells[d + ch] as number) * w11;
        const out = v + base + (((r2 >>> (ch * 8)) & 0xff) - 127.5) * chromaScale;
        data[o + ch] = out < 0 ? 0 : out > 255 ? 255 : Math.round(out);
      }
    }
  }
  return {
    image: { width, height, channels: 3, data },
    truth: { logicalSize: [lw, lh], scale, offset, background },
  };
}
