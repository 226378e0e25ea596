/** Small image builders for the sprite unit tests (real PNG bytes made with sharp). */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import type { RawImage } from '../../daemon/src/sprites/raw-image.js';
import { type Degradation, renderCase } from './pixel-art-corpus.js';
import type { LogicalSprite } from './pixel-art-sprite.js';

/** RGBA image from a text picture: one char per pixel, `.` transparent, others from `colours`. */
export function pixels(rows: string[], colours: Record<string, number>): RawImage {
  const h = rows.length;
  const w = rows[0]?.length ?? 0;
  const data = new Uint8Array(w * h * 4);
  rows.forEach((row, y) => {
    [...row].forEach((ch, x) => {
      if (ch === '.') return;
      const c = colours[ch] ?? 0;
      data.set([(c >> 16) & 255, (c >> 8) & 255, c & 255, 255], (y * w + x) * 4);
    });
  });
  return { data, width: w, height: h };
}

/** RGBA pixel at (x, y) as [r, g, b, a]. */
export function at(img: RawImage, x: number, y: number): number[] {
  const i = (y * img.width + x) * 4;
  return [...img.data.subarray(i, i + 4)];
}

/** PNG bytes of a raw image. */
export function toPng(img: RawImage): Promise<Buffer> {
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: 4 } })
    .png()
    .toBuffer();
}

/** Decodes PNG bytes to RGBA. */
export async function fromPng(png: Buffer): Promise<RawImage> {
  const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height };
}

/** A PNG file as RGBA. */
export async function readRgba(path: string): Promise<RawImage> {
  return fromPng(await readFile(path));
}

/** Renders `truth` the way the corpus does, with the given degradation (defaults: clean, white bg). */
export function upscale(
  truth: LogicalSprite,
  d: Partial<Degradation> & { scale: [number, number] },
  seed = 1,
): Promise<Buffer> {
  return renderCase({
    id: 'fixture',
    tier: 'easy',
    seed,
    paletteName: 'fixture',
    truth,
    degradation: {
      phase: [0, 0],
      drift: 0,
      blurSigma: 0,
      noiseSigma: 0,
      blockTint: 0,
      shading: 0,
      jpegQuality: null,
      background: 0xffffff,
      ...d,
    },
  });
}

/** A 12×10 test sprite: black outline, red body, a white eye, transparent around. */
export const HERO = pixels(
  [
    '............',
    '...kkkkkk...',
    '..krrrrrrk..',
    '..krwrrrrk..',
    '..krrrrrrk..',
    '..krrggrrk..',
    '..krrggrrk..',
    '...kkkkkk...',
    '...kk..kk...',
    '............',
  ],
  { k: 0x101010, r: 0xd03030, w: 0xffffff, g: 0x30a040 },
);
