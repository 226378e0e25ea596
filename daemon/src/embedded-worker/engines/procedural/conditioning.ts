import type { RgbaImage } from '../../decode-png.js';
import { hslToRgb, luminance, type Rgb, rgbToHsl } from './colour.js';
import type { RawImage } from './render.js';
import { createRng, hashString } from './rng.js';
import type { LogicalSprite } from './sprite.js';
import { readSubject } from './subject.js';

export { decodeConditioningPng, type RgbaImage } from '../../decode-png.js';

/**
 * The procedural engine's emulation of image conditioning (protocol/conditioning.ts),
 * deterministic so tests mean something offline:
 *  - img2img (`init_image` + `strength`): the init picture, resampled nearest to the job
 *    size, with a seed-chosen share of its subject's parts (square blocks) repainted; the
 *    share is `strength` (0: the same picture, 1: every part). The parts chosen at a lower
 *    strength are a subset of those at a higher one, so the change grows with strength.
 *  - inpainting (+ `mask`, white = repaint): the same, with the parts taken from the
 *    mask's area; outside the mask (resampled nearest to the job size) the output is the
 *    init picture resampled, pixel for pixel.
 *  - `reference_images`: the prompt's sprite redrawn into the first reference's frame
 *    (its size, its subject's bounding box) in the reference's colours.
 * A repainted part takes the prompt's sprite (drawn into the subject's or the mask's
 * bounding box) where that sprite has pixels, else the old part recoloured toward the
 * prompt's colour; repainted pixels get a model-like noise, the rest stays exact.
 */

/** Source index of each of `to` destination pixels when resampling `from` pixels nearest. */
export function nearestIndex(to: number, from: number): Int32Array {
  const out = new Int32Array(to);
  for (let i = 0; i < to; i++) out[i] = Math.floor((i * from) / to);
  return out;
}

/** `img` resampled nearest so its longer side is at most `maxSide` (unchanged when it fits). */
function fitWithin(img: RgbaImage, maxSide: number): RgbaImage {
  const longer = Math.max(img.width, img.height);
  if (longer <= maxSide) return img;
  const width = Math.max(1, Math.round((img.width * maxSide) / longer));
  const height = Math.max(1, Math.round((img.height * maxSide) / longer));
  const xs = nearestIndex(width, img.width);
  const ys = nearestIndex(height, img.height);
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const s = ((ys[y] as number) * img.width + (xs[x] as number)) * 4;
      data.set(img.data.subarray(s, s + 4), (y * width + x) * 4);
    }
  }
  return { width, height, data };
}

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Bounding box of the set cells of a width×height mask; undefined when none is set. */
function boxOf(mask: Uint8Array, width: number, height: number): Box | undefined {
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (mask[y * width + x] === 0) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  return x1 < 0 ? undefined : { x: x0, y: y0, w: x1 - x0 + 1, h: y1 - y0 + 1 };
}

const rgbAt = (data: Uint8Array, p: number): Rgb => [
  data[p] as number,
  data[p + 1] as number,
  data[p + 2] as number,
];

/**
 * The subject's pixels (1) of a picture: its opaque pixels when it has transparency,
 * else the pixels clearly unlike the colour of its corners (an opaque background).
 */
export function subjectOf(img: RgbaImage): Uint8Array {
  const n = img.width * img.height;
  const mask = new Uint8Array(n);
  let transparent = false;
  for (let i = 0; i < n; i++) if ((img.data[i * 4 + 3] as number) < 128) transparent = true;
  if (transparent) {
    for (let i = 0; i < n; i++) mask[i] = (img.data[i * 4 + 3] as number) >= 128 ? 1 : 0;
    return mask;
  }
  const corners = [0, img.width - 1, (img.height - 1) * img.width, n - 1].map((i) =>
    rgbAt(img.data, i * 4),
  );
  const median = (ch: number): number =>
    corners.map((c) => c[ch] as number).sort((a, b) => a - b)[1] as number;
  const bg: Rgb = [median(0), median(1), median(2)];
  for (let i = 0; i < n; i++) {
    const p = i * 4;
    const d =
      Math.abs((img.data[p] as number) - bg[0]) +
      Math.abs((img.data[p + 1] as number) - bg[1]) +
      Math.abs((img.data[p + 2] as number) - bg[2]);
    mask[i] = d > 48 ? 1 : 0;
  }
  return mask;
}

// ------------------------------------------------------------------ reference

/** What a reference image gives a new sprite: its frame, its subject's box, its colours. */
export interface ReferenceLook {
  /** The logical canvas (the reference's size, longer side at most 64). */
  width: number;
  height: number;
  /** The subject's bounding box in that canvas. */
  box: Box;
  /** The subject's distinct colours (the 32 most used), darkest first. */
  palette: Rgb[];
}

/** Longest side of a reference's logical canvas. */
const REFERENCE_MAX_SIDE = 64;

/** Read a reference picture (see ReferenceLook); undefined when it shows no subject. */
export function referenceLook(picture: RgbaImage): ReferenceLook | undefined {
  const img = fitWithin(picture, REFERENCE_MAX_SIDE);
  const subject = subjectOf(img);
  const box = boxOf(subject, img.width, img.height);
  if (box === undefined) return undefined;
  const counts = new Map<number, number>();
  for (let i = 0; i < subject.length; i++) {
    if (subject[i] === 0) continue;
    const p = i * 4;
    const key =
      ((img.data[p] as number) << 16) |
      ((img.data[p + 1] as number) << 8) |
      (img.data[p + 2] as number);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const palette = [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || a[0] - b[0])
    .slice(0, 32)
    .map(([k]): Rgb => [(k >> 16) & 255, (k >> 8) & 255, k & 255])
    .sort((a, b) => luminance(a) - luminance(b) || a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
  return { width: img.width, height: img.height, box, palette };
}

/**
 * The sprites (frames of one request) redrawn in a reference's look: the first sprite's
 * subject box is stretched onto the reference's (every frame with the same mapping, so an
 * animation keeps its motion), and each colour becomes the reference colour at the same
 * lightness rank (darkest to darkest, so outline and shading survive).
 */
export function applyReference(sprites: LogicalSprite[], look: ReferenceLook): LogicalSprite[] {
  const first = sprites[0];
  if (first === undefined) return sprites;
  const alpha = new Uint8Array(first.width * first.height);
  for (let i = 0; i < alpha.length; i++) alpha[i] = (first.rgba[i * 4 + 3] as number) > 0 ? 1 : 0;
  const from = boxOf(alpha, first.width, first.height);
  if (from === undefined) return sprites;
  const ranks = [...new Set(first.colours.map((c) => luminance(c)))].sort((a, b) => a - b);
  const recolour = (c: Rgb): Rgb => {
    const l = luminance(c);
    let below = 0;
    while (below < ranks.length && (ranks[below] as number) < l - 1e-9) below++;
    const q = ranks.length > 1 ? Math.min(1, below / (ranks.length - 1)) : 0.5;
    return look.palette[Math.round(q * (look.palette.length - 1))] as Rgb;
  };
  const to = look.box;
  return sprites.map((sprite) => {
    const rgba = new Uint8Array(look.width * look.height * 4);
    const used = new Map<string, Rgb>();
    for (let ty = 0; ty < look.height; ty++) {
      const sy = from.y + Math.floor(((ty - to.y + 0.5) * from.h) / to.h);
      if (sy < 0 || sy >= sprite.height) continue;
      for (let tx = 0; tx < look.width; tx++) {
        const sx = from.x + Math.floor(((tx - to.x + 0.5) * from.w) / to.w);
        if (sx < 0 || sx >= sprite.width) continue;
        const s = (sy * sprite.width + sx) * 4;
        if ((sprite.rgba[s + 3] as number) === 0) continue;
        const c = recolour(rgbAt(sprite.rgba, s));
        rgba.set([c[0], c[1], c[2], 255], (ty * look.width + tx) * 4);
        used.set(c.join(','), c);
      }
    }
    return { ...sprite, width: look.width, height: look.height, rgba, colours: [...used.values()] };
  });
}

// ------------------------------------------------------------ img2img, inpainting

export interface ConditionedRequest {
  init: RgbaImage;
  /** White (luma ≥ 128, opaque) = repaint; any size (resampled nearest to the job size). */
  mask?: RgbaImage;
  /** 0..1: the share of candidate parts repainted. */
  strength: number;
  /** The job's output size. */
  width: number;
  height: number;
  seed: number;
  prompt: string;
  /** The prompt's sprite: what repainted parts show where it has pixels. */
  fresh: LogicalSprite;
  /** What transparent init pixels are flattened onto (the output is opaque RGB). */
  background: Rgb;
}

export interface ConditionedPicture {
  image: RawImage;
  /** Parts (blocks of init pixels) that could be repainted, and how many were. */
  parts: number;
  repainted: number;
}

/** Side of one part (a square block of init pixels): about 16 parts across the picture. */
export function partSide(init: Pick<RgbaImage, 'width' | 'height'>): number {
  return Math.max(1, Math.round(Math.max(init.width, init.height) / 16));
}

/** The init picture flattened onto `background` (RGB, its own size). */
export function flattenInit(init: RgbaImage, background: Rgb): Uint8Array {
  const n = init.width * init.height;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const a = (init.data[i * 4 + 3] as number) / 255;
    for (let ch = 0; ch < 3; ch++) {
      out[i * 3 + ch] = Math.round(
        (init.data[i * 4 + ch] as number) * a + (background[ch] as number) * (1 - a),
      );
    }
  }
  return out;
}

/** Whether mask pixel `p` (RGBA offset) says repaint: opaque and light. */
const isWhite = (mask: Uint8Array, p: number): boolean =>
  (mask[p + 3] as number) >= 128 && luminance(rgbAt(mask, p)) >= 128;

/** img2img / inpainting of the init picture (see the file comment). Pure. */
export function conditionedPicture(req: ConditionedRequest): ConditionedPicture {
  const steps = conditionedPictureSteps(req);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * `conditionedPicture` that yields to the event loop between slices of rows (the worker's
 * REP must answer pings meanwhile) and stops with the signal's reason when it aborts.
 */
export async function conditionedPictureAsync(
  req: ConditionedRequest,
  signal?: AbortSignal,
): Promise<ConditionedPicture> {
  const steps = conditionedPictureSteps(req);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    await new Promise((resolve) => setImmediate(resolve));
    if (signal?.aborted) throw signal.reason;
  }
}

/** Rows of the job-size picture between yields. */
const ROWS_PER_STEP = 64;

function* conditionedPictureSteps(req: ConditionedRequest): Generator<void, ConditionedPicture> {
  const { init, width: W, height: H } = req;
  const iw = init.width;
  const ih = init.height;
  const flat = flattenInit(init, req.background);
  const xs = nearestIndex(W, iw);
  const ys = nearestIndex(H, ih);

  // the mask at the job size, and the init pixels some white job pixel shows
  let maskJob: Uint8Array | undefined;
  let region: Uint8Array = new Uint8Array(0);
  if (req.mask !== undefined) {
    const m = req.mask;
    const mxs = nearestIndex(W, m.width);
    const mys = nearestIndex(H, m.height);
    const white = new Uint8Array(m.width * m.height);
    for (let i = 0; i < white.length; i++) white[i] = isWhite(m.data, i * 4) ? 1 : 0;
    maskJob = new Uint8Array(W * H);
    region = new Uint8Array(iw * ih);
    for (let y = 0; y < H; y++) {
      if (y > 0 && y % ROWS_PER_STEP === 0) yield;
      const row = (mys[y] as number) * m.width;
      for (let x = 0; x < W; x++) {
        if (white[row + (mxs[x] as number)] === 0) continue;
        maskJob[y * W + x] = 1;
        region[(ys[y] as number) * iw + (xs[x] as number)] = 1;
      }
    }
  }
  const subject = subjectOf(init);
  // img2img repaints the subject's parts; a picture with no subject has every part as a candidate
  if (req.mask === undefined)
    region = subject.includes(1) ? subject : new Uint8Array(iw * ih).fill(1);
  const area = boxOf(region, iw, ih) ?? { x: 0, y: 0, w: iw, h: ih };

  // candidate parts: blocks with a region pixel, in a seeded order; the first share are repainted
  const side = partSide(init);
  const bw = Math.ceil(iw / side);
  const bh = Math.ceil(ih / side);
  const candidates: number[] = [];
  for (let by = 0; by < bh; by++) {
    for (let bx = 0; bx < bw; bx++) {
      let any = false;
      for (let y = by * side; y < Math.min(ih, (by + 1) * side) && !any; y++) {
        for (let x = bx * side; x < Math.min(iw, (bx + 1) * side); x++) {
          if (region[y * iw + x] === 1) {
            any = true;
            break;
          }
        }
      }
      if (any) candidates.push(by * bw + bx);
    }
  }
  const order = createRng(hashString('img2img-parts', req.seed));
  for (let i = candidates.length - 1; i > 0; i--) {
    const j = order.int(i + 1);
    [candidates[i], candidates[j]] = [candidates[j] as number, candidates[i] as number];
  }
  const strength = Math.max(0, Math.min(1, req.strength));
  const repainted = Math.round(strength * candidates.length);

  // repaint the chosen parts at the init's resolution
  const painted = flat.slice();
  const changed = new Uint8Array(iw * ih);
  const fresh = req.fresh;
  const freshAlpha = new Uint8Array(fresh.width * fresh.height);
  for (let i = 0; i < freshAlpha.length; i++)
    freshAlpha[i] = (fresh.rgba[i * 4 + 3] as number) > 0 ? 1 : 0;
  const fb = boxOf(freshAlpha, fresh.width, fresh.height);
  const target = targetHue(req.prompt, req.seed);
  for (const block of candidates.slice(0, repainted)) {
    const bx = block % bw;
    const by = Math.floor(block / bw);
    for (let y = by * side; y < Math.min(ih, (by + 1) * side); y++) {
      for (let x = bx * side; x < Math.min(iw, (bx + 1) * side); x++) {
        const i = y * iw + x;
        changed[i] = 1;
        let colour: Rgb | undefined;
        if (
          fb !== undefined &&
          x >= area.x &&
          y >= area.y &&
          x < area.x + area.w &&
          y < area.y + area.h
        ) {
          const fx = fb.x + Math.floor(((x - area.x + 0.5) * fb.w) / area.w);
          const fy = fb.y + Math.floor(((y - area.y + 0.5) * fb.h) / area.h);
          const f = (fy * fresh.width + fx) * 4;
          if ((fresh.rgba[f + 3] as number) > 0) colour = rgbAt(fresh.rgba, f);
        }
        if (colour === undefined && subject[i] === 1) colour = recolour(rgbAt(flat, i * 3), target);
        if (colour !== undefined) painted.set(colour, i * 3);
      }
    }
  }

  // to the job size: nearest from the init's pixels, noise on repainted ones, the init outside the mask
  const data = new Uint8Array(W * H * 3);
  const noiseSeed = hashString('img2img-noise', req.seed);
  for (let y = 0; y < H; y++) {
    if (y > 0 && y % ROWS_PER_STEP === 0) yield;
    const row = (ys[y] as number) * iw;
    for (let x = 0; x < W; x++) {
      const i = row + (xs[x] as number);
      const o = (y * W + x) * 3;
      const keep = maskJob !== undefined && maskJob[y * W + x] === 0;
      if (keep || changed[i] === 0) {
        data[o] = flat[i * 3] as number;
        data[o + 1] = flat[i * 3 + 1] as number;
        data[o + 2] = flat[i * 3 + 2] as number;
        continue;
      }
      // a model never paints flat: ±1..3 levels per pixel, from the position (not a stream, so
      // a pixel's value does not depend on which other parts were repainted), never a no-op
      let h = Math.imul(x + 1, 0x9e3779b1) ^ Math.imul(y + 1, 0x85ebca77) ^ noiseSeed;
      h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
      h ^= h >>> 13;
      let noise = (((h >>> 0) % 3) + 1) * ((h & 0x10000) === 0 ? 1 : -1);
      for (let attempt = 0; attempt < 2; attempt++, noise = -noise) {
        let same = true;
        for (let ch = 0; ch < 3; ch++) {
          const v = Math.max(0, Math.min(255, (painted[i * 3 + ch] as number) + noise));
          data[o + ch] = v;
          if (v !== flat[i * 3 + ch]) same = false;
        }
        if (!same) break;
      }
    }
  }
  return {
    image: { width: W, height: H, channels: 3, data },
    parts: candidates.length,
    repainted,
  };
}

/** The hue a repainted part takes: the prompt's first colour word, else a seeded one. */
function targetHue(prompt: string, seed: number): number {
  const named = readSubject(prompt, createRng(0)).colours[0];
  if (named !== undefined) {
    const [h, s] = rgbToHsl(named);
    if (s > 0.1) return h;
  }
  return createRng(hashString('img2img-hue', seed)).range(0, 360);
}

/** `c` with the target hue and at least some saturation, at its own lightness. */
function recolour(c: Rgb, hue: number): Rgb {
  const [h, s, l] = rgbToHsl(c);
  const shifted = Math.abs(((h - hue + 540) % 360) - 180) < 30 ? hue + 150 : hue;
  return hslToRgb(shifted, Math.max(s, 0.45), l);
}
