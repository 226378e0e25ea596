import type { RawImage } from './raw-image.js';

/**
 * Edge-strength profiles along each axis: `x[i]` sums, over every row, the colour
 * change between pixel columns i−1 and i (|ΔR|+|ΔG|+|ΔB|+|ΔA|); `y[j]` does the
 * same between rows j−1 and j. Index 0 is always 0. A pixel-art grid shows up as
 * a comb of peaks spaced one logical pixel apart.
 */
export interface EdgeProfiles {
  x: Float64Array;
  y: Float64Array;
}

/**
 * Both profiles in one pass over the pixels. The x profile reads every `stride`-th
 * row and the y profile every `stride`-th column (stride 2 below 512 px, else 3):
 * a logical pixel is several source pixels tall/wide, so every logical row is
 * still sampled while the cost drops to a third.
 */
export function edgeProfiles(img: RawImage): EdgeProfiles {
  const { width, height } = img;
  const aligned = img.data.byteOffset % 4 === 0;
  const src = aligned ? img.data : Uint8Array.from(img.data);
  const px32 = new Uint32Array(src.buffer, src.byteOffset, width * height);
  const strideY = height >= 512 ? 3 : 2;
  const strideX = width >= 512 ? 3 : 2;
  const px = new Float64Array(width);
  const py = new Float64Array(height);
  // Integer accumulators are exact and faster than float adds; 1020 per row cannot overflow.
  const colSums = new Int32Array(width);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    if (y % strideY === 0) {
      let prev = px32[row] as number;
      for (let x = 1; x < width; x++) {
        const v = px32[row + x] as number;
        if (v !== prev) {
          colSums[x] =
            (colSums[x] as number) +
            Math.abs((v & 255) - (prev & 255)) +
            Math.abs(((v >>> 8) & 255) - ((prev >>> 8) & 255)) +
            Math.abs(((v >>> 16) & 255) - ((prev >>> 16) & 255)) +
            Math.abs((v >>> 24) - (prev >>> 24));
        }
        prev = v;
      }
    }
    if (y > 0) {
      let rowSum = 0;
      const up = row - width;
      for (let x = 0; x < width; x += strideX) {
        const v = px32[row + x] as number;
        const u = px32[up + x] as number;
        if (v === u) continue;
        rowSum +=
          Math.abs((v & 255) - (u & 255)) +
          Math.abs(((v >>> 8) & 255) - ((u >>> 8) & 255)) +
          Math.abs(((v >>> 16) & 255) - ((u >>> 16) & 255)) +
          Math.abs((v >>> 24) - (u >>> 24));
      }
      py[y] = rowSum;
    }
  }
  for (let x = 0; x < width; x++) px[x] = colSums[x] as number;
  return { x: px, y: py };
}

/**
 * The profile minus its noise floor (the median: edges are sparse, so the median
 * is what noise and JPEG ringing add everywhere), clamped at 0.
 */
export function removeBaseline(profile: Float64Array): Float64Array {
  const sorted = Float64Array.from(profile.subarray(1)).sort();
  const median = sorted.length > 0 ? (sorted[sorted.length >> 1] as number) : 0;
  const out = new Float64Array(profile.length);
  for (let i = 1; i < profile.length; i++) {
    const v = (profile[i] as number) - median;
    out[i] = Math.max(v, 0);
  }
  return out;
}

/**
 * Removes JPEG block edges from a profile: JPEG codes 8×8 blocks independently,
 * so every 8th column boundary (index ≡ 0 mod 8) carries a small step in every
 * row, which sums into a false 8-px grid. Each such index is capped at its larger
 * neighbour: a real (anti-aliased) edge there keeps its height, a lone block step
 * is flattened. Applied only to JPEG input.
 */
export function suppressJpegBlocks(profile: Float64Array): void {
  for (let i = 8; i < profile.length - 1; i += 8) {
    const cap = Math.max(profile[i - 1] as number, profile[i + 1] as number);
    if ((profile[i] as number) > cap) profile[i] = cap;
  }
}
