/**
 * Seeded generator of ground-truth logical sprites (the "true pixel art" a
 * post-processor should recover): a mirrored blob with patches of palette
 * colours, optional dark outline, a few single-pixel details, transparent outside.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { prng } from './prng.js';

export interface LogicalSprite {
  width: number;
  height: number;
  /** RGBA, alpha 0 or 255. */
  data: Uint8Array;
}

export function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)] as T;
}

const PALETTE_DIR = resolve(new URL('.', import.meta.url).pathname, '../../config/palettes');

export function shippedPalette(name: string): number[] {
  return readFileSync(resolve(PALETTE_DIR, `${name}.hex`), 'utf8')
    .split(/\s+/)
    .filter((l) => /^[0-9a-f]{6}$/i.test(l))
    .map((l) => Number.parseInt(l, 16));
}

/** `count` random colours at least `minDistance` apart in RGB (so they are distinct logical colours). */
export function randomPalette(rand: () => number, count: number, minDistance = 40): number[] {
  const out: number[] = [];
  for (let tries = 0; out.length < count && tries < 5000; tries++) {
    const c = [0, 0, 0].map(() => Math.floor(rand() * 256)) as [number, number, number];
    const ok = out.every((o) => {
      const dr = ((o >> 16) & 255) - c[0];
      const dg = ((o >> 8) & 255) - c[1];
      const db = (o & 255) - c[2];
      return Math.sqrt(dr * dr + dg * dg + db * db) >= minDistance;
    });
    if (ok) out.push((c[0] << 16) | (c[1] << 8) | c[2]);
  }
  return out;
}

function luma(c: number): number {
  return 0.299 * ((c >> 16) & 255) + 0.587 * ((c >> 8) & 255) + 0.114 * (c & 255);
}

export interface SpriteSpec {
  width: number;
  height: number;
  palette: number[];
  /** Colours used for the body (taken from the palette). */
  bodyColours: number;
  outline: boolean;
  /** Empty cells kept at each side (0 = the sprite may touch the border). */
  margin: number;
  /** 0..1: share of body cells in 2-colour checker dithering. */
  checker: number;
}

/** Draws one logical sprite from `spec`, deterministic for `seed`. */
export function makeLogicalSprite(spec: SpriteSpec, seed: number): LogicalSprite {
  const rand = prng(seed);
  const { width: w, height: h, margin } = spec;
  const mask = new Uint8Array(w * h);
  const halfW = Math.ceil(w / 2);
  const blobs = 3 + Math.floor(rand() * 5);
  for (let b = 0; b < blobs; b++) {
    const cx = margin + rand() * (halfW - margin);
    const cy = margin + (0.15 + rand() * 0.7) * (h - 2 * margin);
    const rx = 2 + rand() * (w / 3.2);
    const ry = 2 + rand() * (h / 3.2);
    for (let y = margin; y < h - margin; y++) {
      for (let x = margin; x < halfW; x++) {
        const dx = (x + 0.5 - cx) / rx;
        const dy = (y + 0.5 - cy) / ry;
        if (dx * dx + dy * dy <= 1) {
          mask[y * w + x] = 1;
          mask[y * w + (w - 1 - x)] = 1; // mirror
        }
      }
    }
  }
  // Fill enclosed holes: transparent cells not reachable from the border become body.
  const outside = new Uint8Array(w * h);
  const stack: number[] = [];
  for (let x = 0; x < w; x++) stack.push(x, (h - 1) * w + x);
  for (let y = 0; y < h; y++) stack.push(y * w, y * w + w - 1);
  while (stack.length > 0) {
    const i = stack.pop() as number;
    if (outside[i] || mask[i]) continue;
    outside[i] = 1;
    const x = i % w;
    const y = (i - x) / w;
    if (x > 0) stack.push(i - 1);
    if (x < w - 1) stack.push(i + 1);
    if (y > 0) stack.push(i - w);
    if (y < h - 1) stack.push(i + w);
  }
  for (let i = 0; i < w * h; i++) if (!outside[i]) mask[i] = 1;

  const byLuma = [...spec.palette].sort((a, b) => luma(a) - luma(b));
  const outlineColour = byLuma[0] as number;
  const pool = spec.outline ? byLuma.slice(1) : byLuma;
  const body: number[] = [];
  while (body.length < Math.min(spec.bodyColours, pool.length)) {
    const c = pick(rand, pool);
    if (!body.includes(c)) body.push(c);
  }
  // Patches: a coarse random field picks the body colour, so areas are flat like real pixel art.
  const cell = Math.max(2, Math.round(Math.min(w, h) / (4 + rand() * 6)));
  const gw = Math.ceil(halfW / cell) + 1;
  const gh = Math.ceil(h / cell) + 1;
  const field = Array.from({ length: gw * gh }, () => Math.floor(rand() * body.length));
  const data = new Uint8Array(w * h * 4);
  const put = (i: number, c: number) => {
    data[i * 4] = (c >> 16) & 255;
    data[i * 4 + 1] = (c >> 8) & 255;
    data[i * 4 + 2] = c & 255;
    data[i * 4 + 3] = 255;
  };
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < halfW; x++) {
      const i = y * w + x;
      if (!mask[i]) continue;
      const gx = Math.floor(x / cell);
      const gy = Math.floor(y / cell);
      let c = body[field[gy * gw + gx] as number] as number;
      if (
        spec.checker > 0 &&
        (field[gy * gw + gx] as number) === 0 &&
        rand() < spec.checker * 4 &&
        (x + y) % 2 === 0
      ) {
        c = body[(body.length > 1 ? 1 : 0) as number] as number;
      }
      const edge =
        x === 0 ||
        y === 0 ||
        y === h - 1 ||
        !mask[i - 1] ||
        !mask[i - w] ||
        !mask[i + w] ||
        !mask[i + 1];
      if (spec.outline && edge) c = outlineColour;
      put(i, c);
      put(y * w + (w - 1 - x), c);
    }
  }
  // Single-pixel details (eyes, sparkles) inside the body, contrasting with their surroundings.
  const details = Math.floor(rand() * 4);
  for (let d = 0; d < details; d++) {
    const x = Math.floor(rand() * halfW);
    const y = Math.floor(rand() * h);
    const i = y * w + x;
    if (!mask[i] || x === 0 || !mask[i - 1] || !mask[i + 1] || !mask[i - w] || !mask[i + w])
      continue;
    const c = pick(rand, spec.palette);
    put(i, c);
    put(y * w + (w - 1 - x), c);
  }
  return { width: w, height: h, data };
}
