/** Colour helpers: HSL ramps and palette snapping for the style palettes. */

export type Rgb = readonly [number, number, number];

const clamp01 = (v: number): number => Math.max(0, Math.min(1, v));

/** h in degrees, s and l in 0..1 → 0..255 RGB. */
export function hslToRgb(h: number, s: number, l: number): Rgb {
  const hue = (((h % 360) + 360) % 360) / 360;
  const sat = clamp01(s);
  const lum = clamp01(l);
  if (sat === 0) {
    const v = Math.round(lum * 255);
    return [v, v, v];
  }
  const q = lum < 0.5 ? lum * (1 + sat) : lum + sat - lum * sat;
  const p = 2 * lum - q;
  const channel = (t0: number): number => {
    let t = t0;
    if (t < 0) t += 1;
    if (t > 1) t -= 1;
    if (t < 1 / 6) return p + (q - p) * 6 * t;
    if (t < 1 / 2) return q;
    if (t < 2 / 3) return p + (q - p) * (2 / 3 - t) * 6;
    return p;
  };
  return [
    Math.round(channel(hue + 1 / 3) * 255),
    Math.round(channel(hue) * 255),
    Math.round(channel(hue - 1 / 3) * 255),
  ];
}

/** 0..255 RGB → [h degrees, s, l]. */
export function rgbToHsl(rgb: Rgb): [number, number, number] {
  const r = rgb[0] / 255;
  const g = rgb[1] / 255;
  const b = rgb[2] / 255;
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const l = (max + min) / 2;
  if (max === min) return [0, 0, l];
  const d = max - min;
  const s = l > 0.5 ? d / (2 - max - min) : d / (max + min);
  let h: number;
  if (max === r) h = (g - b) / d + (g < b ? 6 : 0);
  else if (max === g) h = (b - r) / d + 2;
  else h = (r - g) / d + 4;
  return [h * 60, s, l];
}

export function luminance(rgb: Rgb): number {
  return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2];
}

/** Nearest colour of `palette` by squared RGB distance (weighted toward green like the eye). */
export function nearest(rgb: Rgb, palette: readonly Rgb[]): Rgb {
  let best = palette[0] as Rgb;
  let bestD = Number.POSITIVE_INFINITY;
  for (const c of palette) {
    const dr = rgb[0] - c[0];
    const dg = rgb[1] - c[1];
    const db = rgb[2] - c[2];
    const d = 2 * dr * dr + 4 * dg * dg + 3 * db * db;
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best;
}

/**
 * A shading ramp of `levels` colours, darkest first, around `base`. Shadows
 * shift hue toward blue and highlights toward yellow, the way pixel artists
 * shade (a plain lightness ramp looks muddy).
 */
export function buildRamp(base: Rgb, levels: number, hueShift = true): Rgb[] {
  const [h, s, l] = rgbToHsl(base);
  const out: Rgb[] = [];
  const mid = (levels - 1) / 2;
  for (let i = 0; i < levels; i++) {
    const k = i - mid; // negative = darker
    const stepL = levels <= 2 ? 0.2 : 0.14;
    const towardBlue = 230;
    const towardYellow = 55;
    const target = k < 0 ? towardBlue : towardYellow;
    const shift = hueShift ? Math.min(1, Math.abs(k) * 0.12) : 0;
    const dh = ((((target - h) % 360) + 540) % 360) - 180;
    out.push(hslToRgb(h + dh * shift, s * (k > 0 ? 1 - 0.12 * k : 1 + 0.05 * -k), l + k * stepL));
  }
  return out;
}
