import { deltaE } from './colour-space.js';
import { blankImage, blitImage, cropImage, packRgb, type RawImage } from './raw-image.js';

const N8 = [
  [-1, -1],
  [0, -1],
  [1, -1],
  [-1, 0],
  [1, 0],
  [-1, 1],
  [0, 1],
  [1, 1],
] as const;

/**
 * Orphan removal: an opaque pixel with no opaque 8-neighbour is noise from the
 * background and becomes transparent; an opaque pixel whose colour none of its 8
 * neighbours share, and which is within ΔE `colourDistance` of the colour most of
 * them have, takes that colour (a speck of near-duplicate shade). Returns a copy.
 */
export function removeOrphans(
  img: RawImage,
  colourDistance = 6,
): { image: RawImage; changed: number } {
  const { width: w, height: h, data } = img;
  const out = Uint8Array.from(data);
  let changed = 0;
  const at = (x: number, y: number) => (x < 0 || y < 0 || x >= w || y >= h ? -1 : (y * w + x) * 4);
  const neigh = new Int32Array(8);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = (y * w + x) * 4;
      if ((data[p + 3] as number) < 128) continue;
      const self = packRgb(data[p] as number, data[p + 1] as number, data[p + 2] as number);
      let opaque = 0;
      let same = false;
      for (const [dx, dy] of N8) {
        const q = at(x + dx, y + dy);
        if (q < 0 || (data[q + 3] as number) < 128) continue;
        const c = packRgb(data[q] as number, data[q + 1] as number, data[q + 2] as number);
        if (c === self) same = true;
        neigh[opaque++] = c;
      }
      if (opaque === 0) {
        out.fill(0, p, p + 4);
        changed++;
        continue;
      }
      if (same || opaque < 8) continue;
      // Mode of the 8 neighbours (O(8²) without allocating).
      let mode = self;
      let modeCount = 0;
      for (let a = 0; a < 8; a++) {
        let n = 0;
        for (let b = 0; b < 8; b++) if (neigh[b] === neigh[a]) n++;
        if (n > modeCount) {
          modeCount = n;
          mode = neigh[a] as number;
        }
      }
      if (modeCount >= 5 && deltaE(self, mode) <= colourDistance) {
        out[p] = (mode >> 16) & 255;
        out[p + 1] = (mode >> 8) & 255;
        out[p + 2] = mode & 255;
        changed++;
      }
    }
  }
  return { image: { width: w, height: h, data: out }, changed };
}

/** A rectangle in pixels. */
export interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** The smallest box holding both (either may be null: the other is returned). */
export function unionBox(a: Box | null, b: Box | null): Box | null {
  if (!a || !b) return a ?? b;
  const left = Math.min(a.left, b.left);
  const top = Math.min(a.top, b.top);
  return {
    left,
    top,
    width: Math.max(a.left + a.width, b.left + b.width) - left,
    height: Math.max(a.top + a.height, b.top + b.height) - top,
  };
}

/** Bounding box of the opaque pixels, or null when there are none. */
export function opaqueBounds(img: RawImage): Box | null {
  let x0 = img.width;
  let y0 = img.height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      if ((img.data[(y * img.width + x) * 4 + 3] as number) < 128) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  return x1 < 0 ? null : { left: x0, top: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
}

/** Crops to the opaque pixels (a fully transparent image becomes 1×1 transparent). */
export function trimImage(img: RawImage): RawImage {
  const b = opaqueBounds(img);
  return b ? cropImage(img, b.left, b.top, b.width, b.height) : blankImage(1, 1);
}

export const PIVOTS = [
  'center',
  'top',
  'bottom',
  'left',
  'right',
  'top-left',
  'top-right',
  'bottom-left',
  'bottom-right',
] as const;
export type Pivot = (typeof PIVOTS)[number];

/**
 * Places `img` on a transparent `width`×`height` canvas at `pivot` ('bottom' =
 * feet on the bottom edge, centred: the usual anchor for characters). A sprite
 * larger than the canvas is cropped around the same pivot.
 */
export function padToCanvas(
  img: RawImage,
  width: number,
  height: number,
  pivot: Pivot = 'center',
): RawImage {
  const out = blankImage(width, height);
  const fx = pivot.includes('left') ? 0 : pivot.includes('right') ? 1 : 0.5;
  const fy = pivot.startsWith('top') ? 0 : pivot.startsWith('bottom') ? 1 : 0.5;
  const left = Math.floor((width - img.width) * fx);
  const top = Math.floor((height - img.height) * fy);
  blitImage(out, img, left, top);
  return out;
}

/**
 * A 1-px outline in `colour` (packed RGB). 'outer' paints transparent pixels that
 * touch an opaque one orthogonally (4-neighbourhood: no corner pixels, as pixel
 * artists draw it); 'inner' recolours the opaque pixels that touch transparency.
 */
export function addOutline(
  img: RawImage,
  colour: number,
  mode: 'outer' | 'inner' = 'outer',
): RawImage {
  const { width: w, height: h, data } = img;
  const out = Uint8Array.from(data);
  const opaque = (x: number, y: number) =>
    x >= 0 && y >= 0 && x < w && y < h && (data[(y * w + x) * 4 + 3] as number) >= 128;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const self = opaque(x, y);
      const touches =
        mode === 'outer'
          ? opaque(x - 1, y) || opaque(x + 1, y) || opaque(x, y - 1) || opaque(x, y + 1)
          : !opaque(x - 1, y) || !opaque(x + 1, y) || !opaque(x, y - 1) || !opaque(x, y + 1);
      if ((mode === 'outer' && !self && touches) || (mode === 'inner' && self && touches)) {
        const p = (y * w + x) * 4;
        out[p] = (colour >> 16) & 255;
        out[p + 1] = (colour >> 8) & 255;
        out[p + 2] = colour & 255;
        out[p + 3] = 255;
      }
    }
  }
  return { width: w, height: h, data: out };
}
