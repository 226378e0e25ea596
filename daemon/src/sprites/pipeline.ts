import { removeBackground } from './background.js';
import { addOutline, opaqueBounds, padToCanvas, removeOrphans, trimImage } from './cleanup.js';
import { rgbToLab } from './colour-space.js';
import { downscaleToGrid } from './downscale.js';
import { detectGrid, type Grid } from './grid-detect.js';
import { mapToPalette } from './palette-map.js';
import { reducePalette } from './palette-reduce.js';
import { resolvePalette } from './palettes.js';
import { countColours, cropImage, type RawImage, rgbToHex } from './raw-image.js';
import type { EffectiveSettings } from './settings.js';

/** What grid detection found, in the result of every call. */
export interface Detected {
  /** Source pixels per logical pixel [x, y] (not rounded). */
  cellSize: [number, number];
  /** Where the cut lines fall modulo the cell size, px [x, y]. */
  phase: [number, number];
  /** 0..1: phase coherence of the edge comb; below ~0.3 treat the grid as a guess. */
  confidence: number;
  /** Cells [w, h] before trim/canvas. */
  logicalSize: [number, number];
  source: Grid['source'];
  /** Background colour removed, or null. */
  background: string | null;
}

/** Stage timings, ms (one entry per stage run). */
export type Timings = Record<string, number>;

export function timed<T>(timings: Timings, stage: string, fn: () => T): T {
  const t0 = performance.now();
  const out = fn();
  timings[stage] = (timings[stage] ?? 0) + performance.now() - t0;
  return out;
}

/** Grid detection, downscale and background removal of one frame (stages 2–4). */
export function prepareFrame(
  raw: RawImage,
  s: EffectiveSettings,
  timings: Timings,
  logicalSize: [number, number] | null = s.logicalSize,
  format = 'png',
): { small: RawImage; detected: Detected } {
  const grid = timed(timings, 'grid', () =>
    detectGrid(raw, { logicalSize: logicalSize ?? undefined, jpeg: format === 'jpeg' }),
  );
  const small = timed(timings, 'downscale', () =>
    downscaleToGrid(raw, grid, { inset: s.cellInset }),
  );
  const bg = timed(timings, 'background', () =>
    removeBackground(small, {
      mode: s.background,
      tolerance: s.backgroundTolerance,
      colour: s.backgroundColour ? Number.parseInt(s.backgroundColour.slice(1), 16) : undefined,
    }),
  );
  const detected: Detected = {
    cellSize: [grid.x.period, grid.y.period],
    phase: [grid.x.phase, grid.y.phase],
    confidence: grid.confidence,
    logicalSize: [grid.x.cells, grid.y.cells],
    source: grid.source,
    background: bg.colour,
  };
  return { small: bg.image, detected };
}

/**
 * The palette shared by `frames`: automatic (≤ colours), or a fixed palette —
 * when it has more entries than `colours`, the frames are first reduced to
 * `colours` automatically and each colour snapped to its nearest fixed entry.
 */
export async function buildPalette(
  frames: RawImage[],
  s: EffectiveSettings,
  timings: Timings = {},
): Promise<number[]> {
  if (s.palette === 'auto')
    return timed(timings, 'palette', () => reducePalette(frames, { maxColours: s.colours }));
  const fixed = await resolvePalette(s.palette);
  if (fixed.length <= s.colours) return fixed;
  const reduced = reducePalette(frames, { maxColours: s.colours });
  const snapped = mapToPalette(
    { data: packedRow(reduced), width: reduced.length, height: 1 },
    fixed,
  );
  return [...countColours(snapped).keys()];
}

function packedRow(colours: number[]): Uint8Array {
  const d = new Uint8Array(colours.length * 4);
  colours.forEach((c, i) => {
    d.set([(c >> 16) & 255, (c >> 8) & 255, c & 255, 255], i * 4);
  });
  return d;
}

/** The darkest colour (lowest Lab L) of a palette, for `outline: auto`. */
export function darkestColour(palette: number[]): number {
  const lab = new Float64Array(3);
  let best = 0;
  let bestL = Number.POSITIVE_INFINITY;
  for (const c of palette) {
    rgbToLab((c >> 16) & 255, (c >> 8) & 255, c & 255, lab);
    if ((lab[0] as number) < bestL) {
      bestL = lab[0] as number;
      best = c;
    }
  }
  return best;
}

/** Palette mapping, orphan removal and outline (stages 5–6 without trim/canvas). */
export function finishFrame(
  small: RawImage,
  palette: number[],
  s: EffectiveSettings,
  timings: Timings,
): RawImage {
  let img = timed(timings, 'palette', () => mapToPalette(small, palette, { dither: s.dither }));
  if (s.orphans) img = timed(timings, 'cleanup', () => removeOrphans(img).image);
  if (s.outline !== 'none') {
    const colour =
      s.outline === 'auto' ? darkestColour(palette) : Number.parseInt(s.outline.slice(1), 16);
    img = timed(timings, 'outline', () => {
      // Room for an outer outline when the sprite touches the border.
      const b = opaqueBounds(img);
      const touches =
        b &&
        (b.left === 0 ||
          b.top === 0 ||
          b.left + b.width === img.width ||
          b.top + b.height === img.height);
      const base =
        s.outlineMode === 'outer' && touches
          ? padToCanvas(img, img.width + 2, img.height + 2)
          : img;
      return addOutline(base, colour, s.outlineMode);
    });
  }
  return img;
}

/** Trim to `bounds` (shared by all frames of a sheet) and pad onto the canvas. */
export function frameToCanvas(
  img: RawImage,
  s: EffectiveSettings,
  bounds: { left: number; top: number; width: number; height: number } | null,
): RawImage {
  let out = img;
  if (s.trim)
    out = bounds
      ? cropImage(img, bounds.left, bounds.top, bounds.width, bounds.height)
      : trimImage(img);
  if (s.canvas) out = padToCanvas(out, s.canvas[0], s.canvas[1], s.pivot);
  return out;
}

/** Colours present in the output, most used first, as `#rrggbb`. */
export function usedPalette(images: RawImage[]): string[] {
  const counts = new Map<number, number>();
  for (const img of images)
    for (const [k, v] of countColours(img)) counts.set(k, (counts.get(k) ?? 0) + v);
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([c]) => rgbToHex(c));
}
