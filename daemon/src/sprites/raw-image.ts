/**
 * An RGBA image in memory: 4 bytes per pixel, rows top to bottom, no padding.
 * Every pipeline stage takes and returns this; sharp is only at the edges.
 */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** A transparent image of `width`×`height`. */
export function blankImage(width: number, height: number): RawImage {
  return { data: new Uint8Array(width * height * 4), width, height };
}

/** A copy of the `w`×`h` region at (`left`, `top`); the region must lie inside `img`. */
export function cropImage(
  img: RawImage,
  left: number,
  top: number,
  w: number,
  h: number,
): RawImage {
  const out = blankImage(w, h);
  for (let y = 0; y < h; y++) {
    const src = ((top + y) * img.width + left) * 4;
    out.data.set(img.data.subarray(src, src + w * 4), y * w * 4);
  }
  return out;
}

/** Copies `src` into `dst` at (`left`, `top`), clipped to `dst`. */
export function blitImage(dst: RawImage, src: RawImage, left: number, top: number): void {
  for (let y = 0; y < src.height; y++) {
    const dy = top + y;
    if (dy < 0 || dy >= dst.height) continue;
    for (let x = 0; x < src.width; x++) {
      const dx = left + x;
      if (dx < 0 || dx >= dst.width) continue;
      const s = (y * src.width + x) * 4;
      const d = (dy * dst.width + dx) * 4;
      dst.data[d] = src.data[s] as number;
      dst.data[d + 1] = src.data[s + 1] as number;
      dst.data[d + 2] = src.data[s + 2] as number;
      dst.data[d + 3] = src.data[s + 3] as number;
    }
  }
}

/** Packs r, g, b into one 24-bit integer (map keys, palette entries). */
export function packRgb(r: number, g: number, b: number): number {
  return (r << 16) | (g << 8) | b;
}

/** `#rrggbb` of a packed 24-bit colour. */
export function rgbToHex(rgb: number): string {
  return `#${rgb.toString(16).padStart(6, '0')}`;
}

/** Distinct opaque colours (alpha ≥ 128) with their pixel counts. */
export function countColours(img: RawImage): Map<number, number> {
  const counts = new Map<number, number>();
  const d = img.data;
  for (let i = 0; i < d.length; i += 4) {
    if ((d[i + 3] as number) < 128) continue;
    const key = packRgb(d[i] as number, d[i + 1] as number, d[i + 2] as number);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}
