/**
 * The seeded quality corpus: logical sprites rendered the way SDXL + a pixel-art
 * LoRA draws them — blocks of a non-integer size, sub-pixel offset, optional
 * drift, anti-aliased/blurred edges, per-block tint and shading, colour noise,
 * JPEG artefacts and a noisy opaque background — each with its ground truth.
 */
import sharp from 'sharp';
import {
  type LogicalSprite,
  makeLogicalSprite,
  pick,
  randomPalette,
  shippedPalette,
} from './pixel-art-sprite.js';
import { prng } from './prng.js';

export interface Degradation {
  /** Source px per logical px, per axis (not an integer in most cases). */
  scale: [number, number];
  /** Sub-pixel shift of the grid, px. */
  phase: [number, number];
  /** Amplitude (px) of a slow sinusoidal drift of the grid lines (0 = uniform grid). */
  drift: number;
  blurSigma: number;
  noiseSigma: number;
  /** Each logical pixel gets its own tint of ±this per channel. */
  blockTint: number;
  /** Smooth lighting over the image, ±this per channel. */
  shading: number;
  jpegQuality: number | null;
  background: number;
}

export interface CorpusCase {
  id: string;
  tier: 'easy' | 'medium' | 'hard';
  seed: number;
  paletteName: string;
  truth: LogicalSprite;
  degradation: Degradation;
}

const SIZES = [16, 24, 32, 40, 48, 56, 64, 72, 80, 96, 112, 128] as const;
const CANVAS = [1024, 1024, 1024, 1000, 960, 896, 768, 1100] as const;
const PALETTES = ['pico-8', 'db32', 'endesga-32', 'nes', 'db16', 'gameboy', 'random'] as const;
const BACKGROUNDS = [
  0xffffff, 0xf4f1ea, 0xd8d8d8, 0x202020, 0x101828, 0x7fb3d5, 0xff00ff, 0x3a7d44,
];

/** The corpus: `count` cases (default 72) deterministic for `seed`; a third each easy/medium/hard. */
export function makeCorpus(count = 72, seed = 20251125): CorpusCase[] {
  const cases: CorpusCase[] = [];
  for (let i = 0; i < count; i++) {
    const rand = prng(seed + i * 7919);
    const tier = i < count / 3 ? 'easy' : i < (2 * count) / 3 ? 'medium' : 'hard';
    const lw = SIZES[i % SIZES.length] as number;
    const square = tier === 'easy' || rand() < 0.7;
    const lh = square
      ? lw
      : (pick(
          rand,
          SIZES.filter((s) => Math.abs(s - lw) <= 32),
        ) as number);
    const canvas = pick(rand, CANVAS);
    const s = canvas / Math.max(lw, lh);
    const aniso = tier === 'hard' && rand() < 0.3 ? 1 + (rand() - 0.5) * 0.04 : 1;
    const paletteName = pick(rand, PALETTES);
    const palette =
      paletteName === 'random'
        ? randomPalette(rand, 4 + Math.floor(rand() * 12))
        : shippedPalette(paletteName);
    const lumaMin = Math.min(
      ...palette.map((c) => ((c >> 16) & 255) + ((c >> 8) & 255) + (c & 255)),
    );
    let background = pick(rand, BACKGROUNDS);
    if (tier === 'hard' && rand() < 0.25) background = pick(rand, palette); // bg colour also in the sprite
    const truth = makeLogicalSprite(
      {
        width: lw,
        height: lh,
        palette,
        bodyColours: 2 + Math.floor(rand() * Math.min(8, palette.length - 1)),
        outline: tier === 'easy' ? rand() < 0.8 : rand() < 0.55,
        margin: tier === 'hard' && rand() < 0.3 ? 0 : 1 + Math.floor(rand() * 3),
        checker: tier === 'hard' && rand() < 0.3 ? 0.2 : 0,
      },
      seed + i,
    );
    void lumaMin;
    const hard = tier === 'hard';
    const medium = tier === 'medium';
    const degradation: Degradation = {
      scale: [s, s * aniso],
      phase: [
        (rand() - 0.5) * (tier === 'easy' ? 0 : 1),
        (rand() - 0.5) * (tier === 'easy' ? 0 : 1),
      ],
      drift: hard && rand() < 0.4 ? 0.5 + rand() * 1.5 : 0,
      blurSigma: tier === 'easy' ? 0 : medium ? 0.5 + rand() * 0.5 : 0.6 + rand() * 1.0,
      noiseSigma: tier === 'easy' ? rand() * 2 : medium ? 2 + rand() * 4 : 4 + rand() * 6,
      blockTint: tier === 'easy' ? 0 : medium ? rand() * 3 : 2 + rand() * 3,
      shading: tier === 'easy' ? 0 : medium ? rand() * 3 : rand() * 5,
      jpegQuality:
        tier === 'easy'
          ? null
          : medium
            ? rand() < 0.4
              ? 85 + Math.floor(rand() * 10)
              : null
            : rand() < 0.6
              ? 70 + Math.floor(rand() * 20)
              : null,
      background,
    };
    cases.push({
      id: `c${String(i).padStart(2, '0')}-${tier}-${lw}x${lh}-${paletteName}`,
      tier,
      seed: seed + i,
      paletteName,
      truth,
      degradation,
    });
  }
  return cases;
}

/** Renders a case to the bytes a worker would return (PNG, or JPEG when `jpegQuality` is set). */
export async function renderCase(c: CorpusCase): Promise<Buffer> {
  const { truth: t, degradation: d } = c;
  const rand = prng(c.seed ^ 0x5bd1e995);
  const W = Math.round(t.width * d.scale[0]);
  const H = Math.round(t.height * d.scale[1]);
  const tint = new Float32Array(t.width * t.height * 3);
  for (let i = 0; i < tint.length; i++) tint[i] = (rand() * 2 - 1) * d.blockTint;
  const bg = [(d.background >> 16) & 255, (d.background >> 8) & 255, d.background & 255];
  const out = new Uint8Array(W * H * 3);
  const driftPhase = rand() * Math.PI * 2;
  const driftX = new Float32Array(W * 2);
  for (let x = 0; x < W * 2; x++)
    driftX[x] = d.drift * Math.sin((x / 2 / W) * Math.PI * 3 + driftPhase);
  const driftY = new Float32Array(H * 2);
  for (let y = 0; y < H * 2; y++)
    driftY[y] = d.drift * Math.sin((y / 2 / H) * Math.PI * 2.5 + driftPhase * 1.7);
  // Gaussian table: Box-Muller once, then indexed by the PRNG (fast enough for 1 Mpx).
  const gauss = new Float32Array(65536);
  for (let i = 0; i < gauss.length; i += 2) {
    const u = Math.max(1e-9, rand());
    const v = rand();
    const r = Math.sqrt(-2 * Math.log(u));
    gauss[i] = r * Math.cos(2 * Math.PI * v);
    gauss[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  let gi = Math.floor(rand() * 65536);
  // The grid position of each subsample depends only on its column (x) or row (y):
  // precompute the logical index of both subsamples per column and per row.
  const uOf = new Int32Array(W * 2);
  for (let x = 0; x < W * 2; x++) {
    const xx = (x >> 1) + 0.25 + (x & 1) * 0.5;
    const u = Math.floor((xx - d.phase[0] + (driftX[x] as number)) / d.scale[0]);
    uOf[x] = u >= 0 && u < t.width ? u : -1;
  }
  const vOf = new Int32Array(H * 2);
  for (let y = 0; y < H * 2; y++) {
    const yy = (y >> 1) + 0.25 + (y & 1) * 0.5;
    const v = Math.floor((yy - d.phase[1] + (driftY[y] as number)) / d.scale[1]);
    vOf[y] = v >= 0 && v < t.height ? v : -1;
  }
  // Colour of each logical cell with its tint, background where transparent.
  const cellRgb = new Float32Array(t.width * t.height * 3);
  for (let i = 0; i < t.width * t.height; i++) {
    const opaque = (t.data[i * 4 + 3] as number) > 0;
    for (let k = 0; k < 3; k++) {
      cellRgb[i * 3 + k] = opaque
        ? (t.data[i * 4 + k] as number) + (tint[i * 3 + k] as number)
        : (bg[k] as number);
    }
  }
  const shadeX = new Float32Array(W);
  for (let x = 0; x < W; x++) shadeX[x] = d.shading * Math.cos((x / W) * Math.PI * 1.1);
  for (let y = 0; y < H; y++) {
    const shadeY = Math.sin((y / H) * Math.PI * 1.3);
    const v0 = vOf[y * 2] as number;
    const v1 = vOf[y * 2 + 1] as number;
    for (let x = 0; x < W; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      // 2×2 supersampling: edges that cut a pixel come out blended, as a renderer would.
      for (let k = 0; k < 4; k++) {
        const v = k < 2 ? v0 : v1;
        const u = uOf[x * 2 + (k & 1)] as number;
        if (u < 0 || v < 0) {
          r += bg[0] as number;
          g += bg[1] as number;
          b += bg[2] as number;
        } else {
          const i = (v * t.width + u) * 3;
          r += cellRgb[i] as number;
          g += cellRgb[i + 1] as number;
          b += cellRgb[i + 2] as number;
        }
      }
      const shade = (shadeX[x] as number) * shadeY;
      const o = (y * W + x) * 3;
      const n = d.noiseSigma;
      out[o] = clamp(r / 4 + shade + n * (gauss[gi++ & 65535] as number));
      out[o + 1] = clamp(g / 4 + shade + n * (gauss[gi++ & 65535] as number));
      out[o + 2] = clamp(b / 4 + shade + n * (gauss[gi++ & 65535] as number));
    }
  }
  let img = sharp(out, { raw: { width: W, height: H, channels: 3 } });
  if (d.blurSigma >= 0.3) img = img.blur(d.blurSigma);
  return d.jpegQuality !== null
    ? img.jpeg({ quality: d.jpegQuality }).toBuffer()
    : img.png({ compressionLevel: 1 }).toBuffer();
}

function clamp(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}
