import { labDistanceSq, rgbToLab } from './colour-space.js';
import { packRgb, type RawImage } from './raw-image.js';

/** 4×4 Bayer matrix, values 0..15. */
const BAYER4 = [0, 8, 2, 10, 12, 4, 14, 6, 3, 11, 1, 9, 15, 7, 13, 5];

export interface MapOptions {
  /** 'ordered' adds a 4×4 Bayer threshold before the nearest search; default 'none'. */
  dither?: 'none' | 'ordered';
  /** Strength of ordered dithering in RGB steps (default 24). */
  ditherSpread?: number;
}

/**
 * Replaces every opaque pixel by the nearest palette colour in Lab (ΔE76), so the
 * output uses palette entries only. Transparent pixels stay 0,0,0,0. Dithering is
 * off by default: pixel-art sprites want flat areas.
 */
export function mapToPalette(img: RawImage, palette: number[], options: MapOptions = {}): RawImage {
  if (palette.length === 0) return img;
  const pl = new Float64Array(palette.length * 3);
  palette.forEach((c, i) => {
    rgbToLab((c >> 16) & 255, (c >> 8) & 255, c & 255, pl, i * 3);
  });
  const cache = new Map<number, number>();
  const tmp = new Float64Array(3);
  const nearest = (r: number, g: number, b: number): number => {
    const key = packRgb(r, g, b);
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
    rgbToLab(r, g, b, tmp);
    let best = 0;
    let bestD = Number.POSITIVE_INFINITY;
    for (let k = 0; k < palette.length; k++) {
      const d = labDistanceSq(pl, k * 3, tmp, 0);
      if (d < bestD) {
        bestD = d;
        best = k;
      }
    }
    const c = palette[best] as number;
    cache.set(key, c);
    return c;
  };
  const out = { ...img, data: Uint8Array.from(img.data) };
  const d = out.data;
  const dither = options.dither === 'ordered';
  const spread = options.ditherSpread ?? 24;
  const clamp = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const p = (y * img.width + x) * 4;
      if ((d[p + 3] as number) < 128) {
        d.fill(0, p, p + 4);
        continue;
      }
      let r = d[p] as number;
      let g = d[p + 1] as number;
      let b = d[p + 2] as number;
      if (dither) {
        const t = (((BAYER4[(y & 3) * 4 + (x & 3)] as number) + 0.5) / 16 - 0.5) * spread;
        r = clamp(r + t);
        g = clamp(g + t);
        b = clamp(b + t);
      }
      const c = nearest(r, g, b);
      d[p] = (c >> 16) & 255;
      d[p + 1] = (c >> 8) & 255;
      d[p + 2] = c & 255;
      d[p + 3] = 255;
    }
  }
  return out;
}
