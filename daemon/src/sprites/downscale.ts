import type { Grid } from './grid-detect.js';
import { blankImage, type RawImage } from './raw-image.js';

export interface DownscaleOptions {
  /** Share of the cell trimmed at each side before sampling (blur and anti-aliasing live there). Default 0.2. */
  inset?: number;
  /** Pixels farther than this (max channel difference) from the cell's median are ignored in the mean. Default 40. */
  tolerance?: number;
}

/** k-th smallest of the first `n` values of `a` (reorders `a`; Wirth's selection). */
function select(a: Uint8Array, n: number, k: number): number {
  let l = 0;
  let m = n - 1;
  while (l < m) {
    const x = a[k] as number;
    let i = l;
    let j = m;
    do {
      while ((a[i] as number) < x) i++;
      while (x < (a[j] as number)) j--;
      if (i <= j) {
        const t = a[i] as number;
        a[i] = a[j] as number;
        a[j] = t;
        i++;
        j--;
      }
    } while (i <= j);
    if (j < k) l = i;
    if (k < i) m = j;
  }
  return a[k] as number;
}

/** First and last source pixel (inclusive) whose centre lies in the inner part of a cell. */
function innerRange(c0: number, c1: number, inset: number, extent: number): [number, number] {
  const margin = (c1 - c0) * inset;
  let lo = Math.ceil(c0 + margin - 0.5);
  let hi = Math.floor(c1 - margin - 0.5);
  if (hi < lo) lo = hi = Math.floor((c0 + c1) / 2);
  lo = Math.max(0, lo);
  hi = Math.min(extent - 1, hi);
  if (hi < lo) lo = hi = Math.min(extent - 1, Math.max(0, Math.floor((c0 + c1) / 2)));
  return [lo, hi];
}

/**
 * One output pixel per grid cell: the majority colour of the cell's inner part.
 * The per-channel median picks the colour covering more than half of the cell
 * (a blur would mix neighbours, a single sample would pick up noise); the mean of
 * the pixels near that median then removes colour noise. Alpha is binarised at 128.
 */
export function downscaleToGrid(
  img: RawImage,
  grid: Grid,
  options: DownscaleOptions = {},
): RawImage {
  const inset = options.inset ?? 0.2;
  const tol = options.tolerance ?? 40;
  const cols = grid.x.cells;
  const rows = grid.y.cells;
  const out = blankImage(cols, rows);
  const xr = new Int32Array(cols * 2);
  for (let i = 0; i < cols; i++) {
    const [lo, hi] = innerRange(
      grid.x.cuts[i] as number,
      grid.x.cuts[i + 1] as number,
      inset,
      img.width,
    );
    xr[i * 2] = lo;
    xr[i * 2 + 1] = hi;
  }
  let maxCell = 1;
  for (let i = 0; i < cols; i++)
    maxCell = Math.max(maxCell, (xr[i * 2 + 1] as number) - (xr[i * 2] as number) + 1);
  const yRanges: [number, number][] = [];
  let maxRows = 1;
  for (let j = 0; j < rows; j++) {
    const r = innerRange(grid.y.cuts[j] as number, grid.y.cuts[j + 1] as number, inset, img.height);
    yRanges.push(r);
    maxRows = Math.max(maxRows, r[1] - r[0] + 1);
  }
  const cap = maxCell * maxRows;
  const sr = new Uint8Array(cap);
  const sg = new Uint8Array(cap);
  const sb = new Uint8Array(cap);
  const sa = new Uint8Array(cap);
  const packed = new Int32Array(cap);
  const src = img.data;
  const w4 = img.width * 4;
  const dst = out.data;
  for (let j = 0; j < rows; j++) {
    const [y0, y1] = yRanges[j] as [number, number];
    for (let i = 0; i < cols; i++) {
      const x0 = xr[i * 2] as number;
      const x1 = xr[i * 2 + 1] as number;
      // Large cells are sampled on a sparser lattice: ~25 samples find the majority
      // and average the noise nearly as well as 400 do, at a fraction of the cost.
      const step = Math.max(1, Math.round(Math.sqrt(((x1 - x0 + 1) * (y1 - y0 + 1)) / 25)));
      let n = 0;
      let minA = 255;
      let sumR = 0;
      let sumG = 0;
      let sumB = 0;
      let lowR = 255;
      let lowG = 255;
      let lowB = 255;
      let highR = 0;
      let highG = 0;
      let highB = 0;
      for (let y = y0; y <= y1; y += step) {
        let p = y * w4 + x0 * 4;
        for (let x = x0; x <= x1; x += step, p += 4 * step, n++) {
          const r = src[p] as number;
          const g = src[p + 1] as number;
          const b = src[p + 2] as number;
          const a = src[p + 3] as number;
          sr[n] = r;
          sg[n] = g;
          sb[n] = b;
          sa[n] = a;
          packed[n] = (r << 16) | (g << 8) | b;
          if (a < minA) minA = a;
          sumR += r;
          sumG += g;
          sumB += b;
          if (r < lowR) lowR = r;
          if (r > highR) highR = r;
          if (g < lowG) lowG = g;
          if (g > highG) highG = g;
          if (b < lowB) lowB = b;
          if (b > highB) highB = b;
        }
      }
      const o = (j * cols + i) * 4;
      const half = n >> 1;
      if (minA < 128 && select(sa, n, half) < 128) continue; // transparent cell, stays 0,0,0,0
      // Every sample within `tol` of every other (a flat cell, the common case): all
      // of them are near the median, so the result is their plain mean.
      if (highR - lowR <= tol && highG - lowG <= tol && highB - lowB <= tol) {
        dst[o] = Math.round(sumR / n);
        dst[o + 1] = Math.round(sumG / n);
        dst[o + 2] = Math.round(sumB / n);
        dst[o + 3] = 255;
        continue;
      }
      const mr = select(sr, n, half);
      const mg = select(sg, n, half);
      const mb = select(sb, n, half);
      // Mean of the samples near the median: the majority colour without its noise.
      let tr = 0;
      let tg = 0;
      let tb = 0;
      let cnt = 0;
      for (let k = 0; k < n; k++) {
        const c = packed[k] as number;
        const r = c >> 16;
        const g = (c >> 8) & 255;
        const b = c & 255;
        if (Math.abs(r - mr) <= tol && Math.abs(g - mg) <= tol && Math.abs(b - mb) <= tol) {
          tr += r;
          tg += g;
          tb += b;
          cnt++;
        }
      }
      dst[o] = cnt > 0 ? Math.round(tr / cnt) : mr;
      dst[o + 1] = cnt > 0 ? Math.round(tg / cnt) : mg;
      dst[o + 2] = cnt > 0 ? Math.round(tb / cnt) : mb;
      dst[o + 3] = 255;
    }
  }
  return out;
}
