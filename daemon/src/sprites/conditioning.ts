import sharp from 'sharp';
import { DaemonError } from '../errors.js';
import { type Anchor, frameAnchor, placeOnAnchor } from './anchor.js';
import { decodeImage, encodePng } from './decode.js';
import { usedPalette } from './pipeline.js';
import type { RawImage } from './raw-image.js';

/**
 * Image-conditioned generation, the daemon's half (issue 15): what a sprite is
 * turned into before it goes to a worker (init image, mask, references at the
 * generation size), and what is done to the post-processed result after (the
 * reference's anchor, then the edit's composite in sprite space, so that nothing
 * outside the mask can drift from the original, byte for byte).
 */

/** A rectangle in sprite pixels. */
export interface MaskRect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** What a conditioned sprite keeps from its source sprite. */
export interface SpriteTraits {
  width: number;
  height: number;
  /** Opaque colours, most used first, `#rrggbb`. */
  palette: string[];
  /** Body centre column and feet row (anchor.ts), or undefined for an empty sprite. */
  anchor: { x: number; y: number } | undefined;
}

/** Largest input picture (sprite, init image, reference, mask): 4096×4096; a worker's image is 1024×1024. */
export const MAX_INPUT_PIXELS = 4096 * 4096;

/** Sprites at most this big on both sides are taken as sprites (size, palette, anchor kept). */
export const MAX_SPRITE_SIDE = 256;

/** A decoded sprite and its traits. Throws DaemonError('BAD_IMAGE'). */
export async function spriteTraits(
  png: Buffer | Uint8Array,
): Promise<SpriteTraits & { image: RawImage }> {
  const image = await decodeImage(png, { maxInputPixels: MAX_INPUT_PIXELS });
  const a = frameAnchor(image);
  return {
    image,
    width: image.width,
    height: image.height,
    palette: usedPalette([image]),
    anchor: a === undefined ? undefined : { x: a.x, y: a.y },
  };
}

/** Flat backgrounds a transparent pixel may become; the one farthest from the sprite's colours wins. */
const BACKGROUNDS = [0xffffff, 0x000000, 0xff00ff, 0x00ff00, 0x00ffff, 0x808080];

/** The flat background colour farthest (RGB) from every opaque colour of `img`. */
export function backgroundFor(img: RawImage): number {
  const colours = new Set<number>();
  for (let i = 0; i < img.data.length; i += 4) {
    if ((img.data[i + 3] as number) < 128) continue;
    colours.add(
      ((img.data[i] as number) << 16) |
        ((img.data[i + 1] as number) << 8) |
        (img.data[i + 2] as number),
    );
  }
  let best = BACKGROUNDS[0] as number;
  let bestDist = -1;
  for (const bg of BACKGROUNDS) {
    let min = Number.POSITIVE_INFINITY;
    for (const c of colours) {
      const dr = ((c >> 16) & 255) - ((bg >> 16) & 255);
      const dg = ((c >> 8) & 255) - ((bg >> 8) & 255);
      const db = (c & 255) - (bg & 255);
      min = Math.min(min, dr * dr + dg * dg + db * db);
    }
    if (min > bestDist) {
      bestDist = min;
      best = bg;
    }
  }
  return best;
}

/**
 * A sprite as a worker's input picture: every transparent pixel (alpha < 128) becomes
 * one flat background colour (opaque, like a model's output), then a nearest-neighbour
 * resize to the generation size, so each sprite pixel is a crisp block.
 */
export async function toGenerationImage(
  img: RawImage,
  resolution: [number, number],
): Promise<Buffer> {
  const bg = backgroundFor(img);
  const rgb = Buffer.alloc(img.width * img.height * 3);
  for (let p = 0; p < img.width * img.height; p++) {
    const opaque = (img.data[p * 4 + 3] as number) >= 128;
    rgb[p * 3] = opaque ? (img.data[p * 4] as number) : (bg >> 16) & 255;
    rgb[p * 3 + 1] = opaque ? (img.data[p * 4 + 1] as number) : (bg >> 8) & 255;
    rgb[p * 3 + 2] = opaque ? (img.data[p * 4 + 2] as number) : bg & 255;
  }
  return sharp(rgb, { raw: { width: img.width, height: img.height, channels: 3 } })
    .resize({ width: resolution[0], height: resolution[1], fit: 'fill', kernel: 'nearest' })
    .png({ compressionLevel: 6 })
    .toBuffer();
}

/** A mask of `width`×`height` sprite pixels, 1 = repaint, from a rectangle (clipped by the caller). */
export function rectMask(width: number, height: number, rect: MaskRect): Uint8Array {
  const mask = new Uint8Array(width * height);
  for (let y = rect.y; y < rect.y + rect.height; y++)
    for (let x = rect.x; x < rect.x + rect.width; x++) mask[y * width + x] = 1;
  return mask;
}

/**
 * A mask image (white = repaint) as a sprite-space mask of `width`×`height`: resized
 * nearest-neighbour when its size differs; a pixel is repainted when it is light
 * (luma ≥ 128) and opaque (alpha ≥ 128). Throws DaemonError('BAD_IMAGE').
 */
export async function maskFromImage(
  png: Buffer | Uint8Array,
  width: number,
  height: number,
): Promise<Uint8Array> {
  let img = await decodeImage(png, { maxInputPixels: MAX_INPUT_PIXELS });
  if (img.width !== width || img.height !== height) {
    const { data, info } = await sharp(Buffer.from(img.data), {
      raw: { width: img.width, height: img.height, channels: 4 },
    })
      .resize({ width, height, fit: 'fill', kernel: 'nearest' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    img = { data: new Uint8Array(data), width: info.width, height: info.height, format: 'raw' };
  }
  const mask = new Uint8Array(width * height);
  for (let p = 0; p < mask.length; p++) {
    const d = img.data;
    const luma =
      0.299 * (d[p * 4] as number) +
      0.587 * (d[p * 4 + 1] as number) +
      0.114 * (d[p * 4 + 2] as number);
    mask[p] = luma >= 128 && (d[p * 4 + 3] as number) >= 128 ? 1 : 0;
  }
  return mask;
}

/** Pixels a mask repaints. */
export function maskArea(mask: Uint8Array): number {
  let n = 0;
  for (const m of mask) n += m;
  return n;
}

/** The sprite-space mask at the generation size, white = repaint, black = keep (grey PNG). */
export async function maskToGenerationImage(
  mask: Uint8Array,
  width: number,
  height: number,
  resolution: [number, number],
): Promise<Buffer> {
  const grey = Buffer.from(mask.map((m) => (m ? 255 : 0)));
  return sharp(grey, { raw: { width, height, channels: 1 } })
    .resize({ width: resolution[0], height: resolution[1], fit: 'fill', kernel: 'nearest' })
    .png({ compressionLevel: 6 })
    .toBuffer();
}

/** `img` with the masked pixels made transparent. */
function outsideMask(img: RawImage, mask: Uint8Array): RawImage {
  const data = new Uint8Array(img.data);
  for (let p = 0; p < mask.length; p++) if (mask[p]) data[p * 4 + 3] = 0;
  return { data, width: img.width, height: img.height };
}

/** The anchors [new, original] an edit is aligned on: outside the mask, else the whole figures. */
function alignment(
  img: RawImage,
  original: RawImage,
  mask: Uint8Array,
): [Anchor | undefined, Anchor | undefined] {
  if (img.width !== original.width || img.height !== original.height) return [undefined, undefined];
  const a = frameAnchor(outsideMask(img, mask));
  const b = frameAnchor(outsideMask(original, mask));
  if (a !== undefined && b !== undefined) return [a, b];
  return [frameAnchor(img), frameAnchor(original)];
}

/** What to do to a post-processed conditioned result. */
export interface FinishConditioned {
  /** Place the new figure so its anchor lands here (the source's anchor; an edit aligns on its original instead). */
  anchor?: { x: number; y: number } | undefined;
  /** An edit: outside `mask` every pixel is the original's, byte for byte. */
  composite?: { original: RawImage; mask: Uint8Array } | undefined;
}

/**
 * The post-processed sprite with the source's anchor and, for an edit, composited
 * onto the original in sprite space (after post-processing, so nothing outside the
 * mask can drift). The result keeps the processed sprite's size, which the caller
 * made the source's. Throws DaemonError('BAD_IMAGE') when the sizes differ.
 */
export async function finishConditioned(
  processed: Buffer,
  finish: FinishConditioned,
): Promise<{ png: Buffer; width: number; height: number; palette: string[] }> {
  let img: RawImage = await decodeImage(processed);
  const c = finish.composite;
  // an edit is aligned on what it keeps: the anchors of the parts outside the mask (a
  // repainted head or cape must not move the figure); without any, on the whole figures
  const [from, to] =
    c !== undefined ? alignment(img, c.original, c.mask) : [frameAnchor(img), finish.anchor];
  if (from !== undefined && to !== undefined && (from.x !== to.x || from.y !== to.y)) {
    img = placeOnAnchor(img, from, {
      width: img.width,
      height: img.height,
      x: to.x,
      y: to.y,
      grew: false,
    });
  }
  if (c !== undefined) {
    if (c.original.width !== img.width || c.original.height !== img.height) {
      throw new DaemonError(
        'BAD_IMAGE',
        `the edited sprite is ${img.width}×${img.height}, the original ${c.original.width}×${c.original.height}; cannot composite (this is a bug: the size is forced to the original's)`,
      );
    }
    const out = new Uint8Array(c.original.data);
    for (let p = 0; p < c.mask.length; p++) {
      if (c.mask[p]) out.set(img.data.subarray(p * 4, p * 4 + 4), p * 4);
    }
    img = { data: out, width: img.width, height: img.height };
  }
  return {
    png: await encodePng(img),
    width: img.width,
    height: img.height,
    palette: usedPalette([img]),
  };
}
