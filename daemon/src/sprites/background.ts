import { labDistanceSq, rgbToLab } from './colour-space.js';
import { packRgb, type RawImage, rgbToHex } from './raw-image.js';

export interface BackgroundOptions {
  /** 'flood' from the border (default), 'key' removes one colour everywhere, 'none' keeps it. */
  mode: 'flood' | 'key' | 'none';
  /** Colour distance (ΔE76, Lab) that still counts as background. Default 8. */
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
  const opaque = border.filter((i) => (img.data[i * 4 + 3] as number) >= 128);
  if (opaque.length < border.length / 2) return null;
  const tolSq = tol * tol;
  // Sampling 128 border cells keeps this O(128·border) on big canvases.
  const step = Math.max(1, Math.floor(opaque.length / 128));
  let bestCount = 0;
  let best = -1;
  for (let s = 0; s < opaque.length; s += step) {
    const a = opaque[s] as number;
    let count = 0;
    for (const b of opaque) if (labDistanceSq(lab, a * 3, lab, b * 3) <= tolSq) count++;
    if (count > bestCount) {
      bestCount = count;
      best = a;
    }
  }
  if (best < 0 || bestCount < border.length * 0.3) return null;
  const mean = new Float64Array(3);
  let n = 0;
  for (const b of opaque) {
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
 * Makes the background transparent, in cell space (run after the downscale, where
 * noise is already averaged out). 'flood' starts at border pixels close to the
 * background colour and spreads through 4-neighbours that are close to it too,
 * so enclosed areas of the same colour inside the sprite (eyes, highlights) stay
 * opaque. A gently shaded background is followed step by step: a pixel within
 * half the tolerance of the neighbour it is reached from joins while it stays
 * within 2.5× the tolerance of the background colour.
 */
export function removeBackground(img: RawImage, options: BackgroundOptions): BackgroundResult {
  if (options.mode === 'none') return { image: img, colour: null, removedPixels: 0 };
  const tol = options.tolerance ?? 8;
  const lab = labImage(img);
  let bg: Float64Array | null;
  if (options.colour !== undefined) {
    bg = new Float64Array(3);
    rgbToLab((options.colour >> 16) & 255, (options.colour >> 8) & 255, options.colour & 255, bg);
  } else {
    bg = estimateBackground(img, lab, tol);
  }
  if (!bg) return { image: img, colour: null, removedPixels: 0 };
  const colour =
    options.colour !== undefined ? rgbToHex(options.colour) : nearestPixelHex(img, lab, bg);
  const out = { ...img, data: Uint8Array.from(img.data) };
  const { width: w, height: h } = img;
  const tolSq = tol * tol;
  const farSq = (tol * 2.5) ** 2;
  const stepSq = (tol * 0.5) ** 2;
  const isOpaque = (i: number) => (out.data[i * 4 + 3] as number) >= 128;
  const removed = new Uint8Array(w * h);
  let count = 0;
  const clear = (i: number) => {
    removed[i] = 1;
    out.data.fill(0, i * 4, i * 4 + 4);
    count++;
  };
  if (options.mode === 'key') {
    for (let i = 0; i < w * h; i++)
      if (isOpaque(i) && labDistanceSq(lab, i * 3, bg, 0) <= tolSq) clear(i);
    return { image: out, colour, removedPixels: count };
  }
  const queue = new Int32Array(w * h);
  let head = 0;
  let tail = 0;
  for (const i of borderIndices(w, h)) {
    if (removed[i] || !isOpaque(i) || labDistanceSq(lab, i * 3, bg, 0) > tolSq) continue;
    clear(i);
    queue[tail++] = i;
  }
  while (head < tail) {
    const i = queue[head++] as number;
    const x = i % w;
    const y = (i - x) / w;
    const next = [
      x > 0 ? i - 1 : -1,
      x < w - 1 ? i + 1 : -1,
      y > 0 ? i - w : -1,
      y < h - 1 ? i + w : -1,
    ];
    for (const j of next) {
      if (j < 0 || removed[j] || !isOpaque(j)) continue;
      const dBg = labDistanceSq(lab, j * 3, bg, 0);
      if (dBg <= tolSq || (dBg <= farSq && labDistanceSq(lab, j * 3, lab, i * 3) <= stepSq)) {
        clear(j);
        queue[tail++] = j;
      }
    }
  }
  return { image: out, colour, removedPixels: count };
}
