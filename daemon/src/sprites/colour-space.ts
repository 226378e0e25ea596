/**
 * sRGB ↔ CIE Lab (D65) conversions. Palette clustering, background tolerance and
 * fixed-palette mapping measure distances in Lab because equal RGB steps are not
 * equal visible steps (a dark-blue step of 10 looks smaller than a green one).
 */

const SRGB_TO_LINEAR = new Float64Array(256);
for (let i = 0; i < 256; i++) {
  const c = i / 255;
  SRGB_TO_LINEAR[i] = c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

function labF(t: number): number {
  return t > 216 / 24389 ? Math.cbrt(t) : ((24389 / 27) * t + 16) / 116;
}

/** Lab of an sRGB colour written into `out` at `offset` (L in 0..100). */
export function rgbToLab(r: number, g: number, b: number, out: Float64Array, offset = 0): void {
  const lr = SRGB_TO_LINEAR[r] as number;
  const lg = SRGB_TO_LINEAR[g] as number;
  const lb = SRGB_TO_LINEAR[b] as number;
  const x = (0.4124564 * lr + 0.3575761 * lg + 0.1804375 * lb) / 0.95047;
  const y = 0.2126729 * lr + 0.7151522 * lg + 0.072175 * lb;
  const z = (0.0193339 * lr + 0.119192 * lg + 0.9503041 * lb) / 1.08883;
  const fx = labF(x);
  const fy = labF(y);
  const fz = labF(z);
  out[offset] = 116 * fy - 16;
  out[offset + 1] = 500 * (fx - fy);
  out[offset + 2] = 200 * (fy - fz);
}

/** Lab of a packed 24-bit colour as a new 3-element array. */
export function packedToLab(rgb: number): Float64Array {
  const out = new Float64Array(3);
  rgbToLab((rgb >> 16) & 255, (rgb >> 8) & 255, rgb & 255, out);
  return out;
}

/** Squared ΔE76 between Lab triples stored at offsets `i` of `a` and `j` of `b`. */
export function labDistanceSq(a: Float64Array, i: number, b: Float64Array, j: number): number {
  const dl = (a[i] as number) - (b[j] as number);
  const da = (a[i + 1] as number) - (b[j + 1] as number);
  const db = (a[i + 2] as number) - (b[j + 2] as number);
  return dl * dl + da * da + db * db;
}

/** ΔE76 between two packed colours. */
export function deltaE(rgbA: number, rgbB: number): number {
  return Math.sqrt(labDistanceSq(packedToLab(rgbA), 0, packedToLab(rgbB), 0));
}
