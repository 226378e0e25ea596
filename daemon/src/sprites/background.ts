import { labDistanceSq, rgbToLab } from './colour-space.js';
import { packRgb, type RawImage, rgbToHex } from './raw-image.js';

export interface BackgroundOptions {
  /** 'flood' from the border (default), 'key' removes one colour everywhere, 'none' keeps it. */
  mode: 'flood' | 'key' | 'none';
  /** Most colour distance (ΔE76, Lab) that counts as background; the border's own noise may set less (see borderTolerance). Default 8. */
  tolerance?: number;
  /** Background colour for 'key' (and a forced colour for 'flood'); default: estimated from the border. */
  colour?: number | undefined;
}

export interface BackgroundResult {
  image: RawImage;
  /** The background colour that was removed, `#rrggbb`, or null when nothing was removed. */
  colour: string | null;
  removedPixels: number;
}

function labImage(img: RawImage): Float64Array {
  const n = img.width * img.height;
  const lab = new Float64Array(n * 3);
  for (let i = 0; i < n; i++) {
    rgbToLab(
      img.data[i * 4] as number,
      img.data[i * 4 + 1] as number,
      img.data[i * 4 + 2] as number,
      lab,
      i * 3,
    );
  }
  return lab;
}

function borderIndices(w: number, h: number): number[] {
  const out: number[] = [];
  for (let x = 0; x < w; x++) out.push(x, (h - 1) * w + x);
  for (let y = 1; y < h - 1; y++) out.push(y * w, y * w + w - 1);
  return [...new Set(out)];
}

/**
 * The dominant border colour: the border pixel with the most border pixels within
 * `tol`, averaged with them. Null when the border is mostly transparent already or
 * no colour covers 30 % of it (the sprite fills the canvas).
 */
export function estimateBackground(
  img: RawImage,
  lab: Float64Array,
  tol: number,
): Float64Array | null {
  const border = borderIndices(img.width, img.height);
  const opaqueBorder: number[] = [];
  for (const i of border) if ((img.data[i * 4 + 3] as number) >= 128) opaqueBorder.push(i);
  if (opaqueBorder.length < border.length / 2) return null;
  const tolSq = tol * tol;
  // Sampling 128 border cells keeps this O(128·border) on big canvases.
  const step = Math.max(1, Math.floor(opaqueBorder.length / 128));
  let bestCount = 0;
  let best = -1;
  for (let s = 0; s < opaqueBorder.length; s += step) {
    const a = opaqueBorder[s] as number;
    let count = 0;
    for (const b of opaqueBorder) if (labDistanceSq(lab, a * 3, lab, b * 3) <= tolSq) count++;
    if (count > bestCount) {
      bestCount = count;
      best = a;
    }
  }
  if (best < 0 || bestCount < border.length * 0.3) return null;
  const mean = new Float64Array(3);
  let n = 0;
  for (const b of opaqueBorder) {
    if (labDistanceSq(lab, best * 3, lab, b * 3) > tolSq) continue;
    mean[0] = (mean[0] as number) + (lab[b * 3] as number);
    mean[1] = (mean[1] as number) + (lab[b * 3 + 1] as number);
    mean[2] = (mean[2] as number) + (lab[b * 3 + 2] as number);
    n++;
  }
  for (let c = 0; c < 3; c++) mean[c] = (mean[c] as number) / n;
  return mean;
}

/** Packed sRGB of the opaque pixel closest to a Lab colour (for reporting). */
function nearestPixelHex(img: RawImage, lab: Float64Array, target: Float64Array): string {
  let best = 0;
  let bestD = Number.POSITIVE_INFINITY;
  for (let i = 0; i < img.width * img.height; i++) {
    const d = labDistanceSq(lab, i * 3, target, 0);
    if (d < bestD) {
      bestD = d;
      best = i;
    }
  }
  const p = best * 4;
  return rgbToHex(
    packRgb(img.data[p] as number, img.data[p + 1] as number, img.data[p + 2] as number),
  );
}

/**
 * The tolerance the border itself asks for: the background cells' spread around
 * the background colour (their 95th-percentile ΔE, ×2.5, plus 1), never above
 * `cap`, never below 3. After the downscale a background's noise is averaged
 * out (ΔE ≈ 0.5–3), so sprite colours between that and `cap` (a dark outline on a
 * dark background, a pale shade on white) are no longer taken for background.
 */
export function borderTolerance(
  img: RawImage,
  lab: Float64Array,
  bg: Float64Array,
  cap: number,
): number {
  const capSq = cap * cap;
  const d: number[] = [];
  for (const i of borderIndices(img.width, img.height)) {
    if ((img.data[i * 4 + 3] as number) < 128) continue;
    const dd = labDistanceSq(lab, i * 3, bg, 0);
    if (dd <= capSq) d.push(Math.sqrt(dd));
  }
  if (d.length < 8) return cap;
  d.sort(ascending);
  const p95 = d[Math.min(d.length - 1, Math.floor(d.length * 0.95))] as number;
  return Math.min(cap, Math.max(3, 2.5 * p95 + 1));
}

const ascending = (a: number, b: number) => a - b;

/** Enclosed areas of at least this many cells that match the background are holes, not eyes. */
export const MIN_HOLE_CELLS = 6;
/** ...and whose mean colour is within this ΔE of the background around them. */
const HOLE_MEAN_DELTA_E = 1;
/** How far around a hole (cells) its local background is measured. */
const HOLE_REACH = 8;
/** A pixel framing a hole matches the sprite's outer rim within this ΔE. */
const RIM_DELTA_E = 6;
/** ...and at least this share of a hole's frame must match it. */
const RIM_SHARE = 0.5;

/**
 * Makes the background transparent, in cell space (run after the downscale, where
 * noise is already averaged out). 'flood' starts at border pixels close to the
 * background colour and spreads through 4-neighbours that are close to it too.
 * "Close" is the border's own spread (see `borderTolerance`), at most
 * `tolerance`. A gently shaded background is followed step by step: a pixel
 * within half the tolerance of the neighbour it is reached from joins while it
 * stays within 2.5× the tolerance of the background colour. Areas the flood
 * cannot reach (a hole in a letter, the gap between tiles) are cleared too when
 * they are at least `MIN_HOLE_CELLS` cells that all match the background that
 * closely, whose mean is the background around them (within 1 ΔE: a hole shows
 * the background itself, a sail of a close shade sits off it) and which are
 * framed by pixels like the sprite's outer rim (a letter's outline frames its
 * hole; a white patch of the body is framed by other body colours); smaller ones
 * (an eye, a highlight) stay opaque.
 */
export function removeBackground(img: RawImage, options: BackgroundOptions): BackgroundResult {
  if (options.mode === 'none') return { image: img, colour: null, removedPixels: 0 };
  const cap = options.tolerance ?? 8;
  const lab = labImage(img);
  let bg: Float64Array | null;
  if (options.colour !== undefined) {
    bg = new Float64Array(3);
    rgbToLab((options.colour >> 16) & 255, (options.colour >> 8) & 255, options.colour & 255, bg);
  } else {
    bg = estimateBackground(img, lab, cap);
  }
  if (!bg) return { image: img, colour: null, removedPixels: 0 };
  const colour =
    options.colour !== undefined ? rgbToHex(options.colour) : nearestPixelHex(img, lab, bg);
  const tol = options.mode === 'flood' ? borderTolerance(img, lab, bg, cap) : cap;
  const f: Flood = {
    w: img.width,
    h: img.height,
    lab,
    bg,
    data: Uint8Array.from(img.data),
    removed: new Uint8Array(img.width * img.height),
    count: 0,
    tolSq: tol * tol,
  };
  const out = { ...img, data: f.data };
  if (options.mode === 'key') {
    for (let i = 0; i < f.w * f.h; i++)
      if (opaque(f, i) && labDistanceSq(lab, i * 3, bg, 0) <= f.tolSq) clear(f, i);
    return { image: out, colour, removedPixels: f.count };
  }
  flood(f, tol);
  clearHoles(f);
  return { image: out, colour, removedPixels: f.count };
}

// removeBackground's state and steps as plain functions, not closures inside it:
// V8 re-optimised a fresh copy of every inner closure on each call (~4 ms of
// background TurboFan per sprite, more than the stage itself).
interface Flood {
  readonly w: number;
  readonly h: number;
  readonly lab: Float64Array;
  readonly bg: Float64Array;
  /** The output RGBA, cleared in place. */
  readonly data: Uint8Array;
  /** 1 where a pixel was made transparent. */
  readonly removed: Uint8Array;
  count: number;
  readonly tolSq: number;
}

function opaque(f: Flood, i: number): boolean {
  return (f.data[i * 4 + 3] as number) >= 128;
}

function clear(f: Flood, i: number): void {
  f.removed[i] = 1;
  f.data.fill(0, i * 4, i * 4 + 4);
  f.count++;
}

/** The 4-neighbours of pixel i into `nb` (left, right, up, down), −1 where off the image. */
function neighbours(i: number, w: number, n: number, nb: Int32Array): Int32Array {
  const x = i % w;
  nb[0] = x > 0 ? i - 1 : -1;
  nb[1] = x < w - 1 ? i + 1 : -1;
  nb[2] = i - w;
  nb[3] = i + w < n ? i + w : -1;
  return nb;
}

/** The flood from the border (see removeBackground). */
function flood(f: Flood, tol: number): void {
  const { w, h, lab, bg, removed, tolSq } = f;
  const farSq = (tol * 2.5) ** 2;
  const stepSq = (tol * 0.5) ** 2;
  const queue = new Int32Array(w * h);
  const nb = new Int32Array(4);
  let head = 0;
  let tail = 0;
  for (const i of borderIndices(w, h)) {
    if (removed[i] || !opaque(f, i) || labDistanceSq(lab, i * 3, bg, 0) > tolSq) continue;
    clear(f, i);
    queue[tail++] = i;
  }
  while (head < tail) {
    const from = queue[head++] as number;
    neighbours(from, w, w * h, nb);
    for (let k = 0; k < 4; k++) {
      const j = nb[k] as number;
      if (j < 0 || removed[j] || !opaque(f, j)) continue;
      const dBg = labDistanceSq(lab, j * 3, bg, 0);
      if (dBg <= tolSq || (dBg <= farSq && labDistanceSq(lab, j * 3, lab, from * 3) <= stepSq)) {
        clear(f, j);
        queue[tail++] = j;
      }
    }
  }
}

/** Not yet removed, opaque and within the tolerance of the background. */
function nearBackground(f: Flood, i: number): boolean {
  return !f.removed[i] && opaque(f, i) && labDistanceSq(f.lab, i * 3, f.bg, 0) <= f.tolSq;
}

/**
 * Enclosed holes: 4-connected areas within the tolerance of the background that
 * the flood did not reach (see removeBackground for which ones are cleared).
 */
function clearHoles(f: Flood): void {
  const { w, h, lab } = f;
  const n = w * h;
  const flooded = Uint8Array.from(f.removed);
  const rimLab = outerRim(f, flooded);
  const seen = new Uint8Array(n);
  const queue = new Int32Array(n);
  const nb = new Int32Array(4);
  for (let s = 0; s < n; s++) {
    if (seen[s] || !nearBackground(f, s)) continue;
    let head = 0;
    let tail = 0;
    queue[tail++] = s;
    seen[s] = 1;
    while (head < tail) {
      neighbours(queue[head++] as number, w, n, nb);
      for (let k = 0; k < 4; k++) {
        const j = nb[k] as number;
        if (j < 0 || seen[j] || !nearBackground(f, j)) continue;
        seen[j] = 1;
        queue[tail++] = j;
      }
    }
    if (tail < MIN_HOLE_CELLS) continue;
    // A hole shows the background itself: its mean is the background colour (the
    // noise averages out), where a sprite area of a close shade sits off it.
    let l = 0;
    let a = 0;
    let b = 0;
    for (let k = 0; k < tail; k++) {
      const i = (queue[k] as number) * 3;
      l += lab[i] as number;
      a += lab[i + 1] as number;
      b += lab[i + 2] as number;
    }
    const mean = Float64Array.of(l / tail, a / tail, b / tail);
    const local = localBackground(f, flooded, queue, tail);
    if (labDistanceSq(mean, 0, local, 0) > HOLE_MEAN_DELTA_E ** 2) continue;
    if (framedLikeRim(f, seen, rimLab, queue, tail) < RIM_SHARE) continue;
    for (let k = 0; k < tail; k++) clear(f, queue[k] as number);
  }
}

/**
 * The background around a hole (flooded cells within HOLE_REACH cells of its
 * bounding box): shading moves the colour across a picture.
 */
function localBackground(
  f: Flood,
  flooded: Uint8Array,
  cells: Int32Array,
  n: number,
): Float64Array {
  const { w, h, lab } = f;
  let x0 = w;
  let y0 = h;
  let x1 = 0;
  let y1 = 0;
  for (let k = 0; k < n; k++) {
    const i = cells[k] as number;
    const x = i % w;
    const y = (i - x) / w;
    x0 = Math.min(x0, x);
    x1 = Math.max(x1, x);
    y0 = Math.min(y0, y);
    y1 = Math.max(y1, y);
  }
  const sum = new Float64Array(3);
  let m = 0;
  for (let y = Math.max(0, y0 - HOLE_REACH); y <= Math.min(h - 1, y1 + HOLE_REACH); y++)
    for (let x = Math.max(0, x0 - HOLE_REACH); x <= Math.min(w - 1, x1 + HOLE_REACH); x++) {
      const i = y * w + x;
      if (!flooded[i]) continue;
      for (let c = 0; c < 3; c++) sum[c] = (sum[c] as number) + (lab[i * 3 + c] as number);
      m++;
    }
  if (m < MIN_HOLE_CELLS) return f.bg;
  for (let c = 0; c < 3; c++) sum[c] = (sum[c] as number) / m;
  return sum;
}

/**
 * The sprite's outer rim: the distinct colours (Lab, packed by 3) of opaque pixels
 * beside the flooded background, at most 256. A hole is framed by the same kind of
 * pixels (a letter's outline frames its hole, a tile's edge the gap); a
 * background-coloured part of the body is framed by other body colours.
 */
function outerRim(f: Flood, flooded: Uint8Array): Float64Array {
  const { w, h, lab, data } = f;
  const n = w * h;
  const rim: number[] = [];
  const rimSeen = new Set<number>();
  const nb = new Int32Array(4);
  for (let i = 0; i < n && rim.length < 3 * 256; i++) {
    if (!flooded[i]) continue;
    neighbours(i, w, n, nb);
    for (let k = 0; k < 4; k++) {
      const j = nb[k] as number;
      if (j < 0 || flooded[j] || !opaque(f, j)) continue;
      const key = packRgb(
        data[j * 4] as number,
        data[j * 4 + 1] as number,
        data[j * 4 + 2] as number,
      );
      if (rimSeen.has(key)) continue;
      rimSeen.add(key);
      rim.push(lab[j * 3] as number, lab[j * 3 + 1] as number, lab[j * 3 + 2] as number);
    }
  }
  return Float64Array.from(rim);
}

/** Share of the pixels framing a hole that look like the sprite's outer rim. */
function framedLikeRim(
  f: Flood,
  seen: Uint8Array,
  rimLab: Float64Array,
  cells: Int32Array,
  n: number,
): number {
  const { w, h, lab } = f;
  const nb = new Int32Array(4);
  const rimSq = RIM_DELTA_E ** 2;
  let frame = 0;
  let like = 0;
  for (let k = 0; k < n; k++) {
    neighbours(cells[k] as number, w, w * h, nb);
    for (let q = 0; q < 4; q++) {
      const j = nb[q] as number;
      if (j < 0 || seen[j] || !opaque(f, j)) continue;
      frame++;
      for (let r = 0; r < rimLab.length; r += 3)
        if (labDistanceSq(lab, j * 3, rimLab, r) <= rimSq) {
          like++;
          break;
        }
    }
  }
  return frame === 0 ? 0 : like / frame;
}
