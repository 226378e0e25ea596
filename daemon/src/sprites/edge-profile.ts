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
 * Both profiles in one pass over the pixels. The x profile reads every other row
 * and the y profile every other column: a logical pixel is at least a few source
 * pixels tall/wide, so this halves the cost without losing an edge.
 */
export function edgeProfiles(img: RawImage): EdgeProfiles {
  const { data, width, height } = img;
  const px = new Float64Array(width);
  const py = new Float64Array(height);
  // Integer accumulators are exact and faster than float adds; 1020 per row cannot overflow.
  const colSums = new Int32Array(width);
  const rowStride = width * 4;
  for (let y = 0; y < height; y++) {
    const row = y * rowStride;
    if ((y & 1) === 0) {
      let r0 = data[row] as number;
      let g0 = data[row + 1] as number;
      let b0 = data[row + 2] as number;
      let a0 = data[row + 3] as number;
      for (let x = 1, i = row + 4; x < width; x++, i += 4) {
        const r = data[i] as number;
        const g = data[i + 1] as number;
        const b = data[i + 2] as number;
        const a = data[i + 3] as number;
        colSums[x] =
          (colSums[x] as number) +
          Math.abs(r - r0) +
          Math.abs(g - g0) +
          Math.abs(b - b0) +
          Math.abs(a - a0);
        r0 = r;
        g0 = g;
        b0 = b;
        a0 = a;
      }
    }
    if (y > 0) {
      let rowSum = 0;
      const up = row - rowStride;
      for (let i = 0; i < rowStride; i += 8) {
        rowSum +=
          Math.abs((data[row + i] as number) - (data[up + i] as number)) +
          Math.abs((data[row + i + 1] as number) - (data[up + i + 1] as number)) +
          Math.abs((data[row + i + 2] as number) - (data[up + i + 2] as number)) +
          Math.abs((data[row + i + 3] as number) - (data[up + i + 3] as number));
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
