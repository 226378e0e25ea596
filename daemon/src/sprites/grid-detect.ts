import { edgeProfiles, removeBaseline, suppressJpegBlocks } from './edge-profile.js';
import {
  combScores,
  edgeAutocorrelation,
  type GridAxis,
  gridContrast,
  layCells,
  measureAxis,
  periodGrid,
  refineAxis,
} from './grid-axis.js';
import type { RawImage } from './raw-image.js';

/** The detected logical grid of an image: one `GridAxis` per direction. */
export interface Grid {
  x: GridAxis;
  y: GridAxis;
  /** min of both axes' phase coherence, 0..1. */
  confidence: number;
  /** How the grid was found. */
  source: 'detected' | 'explicit' | 'identity';
}

export interface GridOptions {
  /** Force this logical size [w, h] (cells per axis); the phase is still measured. */
  logicalSize?: [number, number] | undefined;
  /** Smallest logical size considered when detecting (default 8 cells). */
  minCells?: number;
  /** Smallest cell considered, px (default 2). */
  minPeriod?: number;
  /** Below this coherence no grid is trusted and the image is taken 1:1 (default 0.15). */
  minConfidence?: number;
  /** The source was a JPEG: flatten its 8-px block edges before looking for a grid. */
  jpeg?: boolean;
}

function identityAxis(extent: number): GridAxis {
  return { period: 1, phase: 0, coherence: 0, ...layCells(extent, 1, 0, extent) };
}

function jointScores(
  rx: Float64Array,
  ry: Float64Array,
  periods: Float64Array,
  from: number,
): Float64Array {
  const sx = combScores(rx, periods, from);
  const sy = combScores(ry, periods, from);
  for (let i = 0; i < sx.length; i++) sx[i] = (sx[i] as number) + (sy[i] as number);
  return sx;
}

/** Indices of the `k` highest local maxima. */
function topPeaks(a: Float64Array, k: number): number[] {
  const peaks: number[] = [];
  for (let i = 0; i < a.length; i++) {
    const v = a[i] as number;
    if ((i === 0 || v >= (a[i - 1] as number)) && (i === a.length - 1 || v >= (a[i + 1] as number)))
      peaks.push(i);
  }
  return peaks.sort((p, q) => (a[q] as number) - (a[p] as number)).slice(0, k);
}

/** Index of the largest value. */
function argmax(a: Float64Array): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if ((a[i] as number) > (a[best] as number)) best = i;
  return best;
}

/**
 * Finds the logical pixel grid of an upscaled pixel-art image: period (float, per
 * axis), phase and a confidence. Both axes vote together for the scale (pixels are
 * square, so the evidence adds up), then each axis settles its own exact period
 * within ±5 % (SDXL grids are not always exactly square) and its phase.
 * An explicit `logicalSize` fixes the periods to extent/size and only measures the
 * phase. Without any grid the image is taken as already 1:1 (`source: 'identity'`).
 */
export function detectGrid(img: RawImage, options: GridOptions = {}): Grid {
  const profiles = edgeProfiles(img);
  if (options.jpeg) {
    suppressJpegBlocks(profiles.x);
    suppressJpegBlocks(profiles.y);
  }
  const vx = removeBaseline(profiles.x);
  const vy = removeBaseline(profiles.y);
  if (options.logicalSize) {
    const [w, h] = options.logicalSize;
    const px = img.width / w;
    const py = img.height / h;
    const mx = measureAxis(vx, px);
    const my = measureAxis(vy, py);
    const x = { period: px, ...mx, ...layCells(img.width, px, mx.phase, w) };
    const y = { period: py, ...my, ...layCells(img.height, py, my.phase, h) };
    return { x, y, confidence: Math.min(mx.coherence, my.coherence), source: 'explicit' };
  }
  const minCells = options.minCells ?? 8;
  const minPeriod = options.minPeriod ?? 2;
  const minConfidence = options.minConfidence ?? 0.15;
  const maxPeriod = Math.max(minPeriod + 1, Math.min(img.width, img.height) / minCells);
  const maxLag = (extent: number) => Math.min(extent - 8, Math.max(3 * maxPeriod, extent / 2));
  const ax0 = edgeAutocorrelation(vx, minPeriod, maxLag(img.width));
  const ay0 = edgeAutocorrelation(vy, minPeriod, maxLag(img.height));
  const rx = ax0.r;
  const ry = ay0.r;
  const lowest = Math.min(maxPeriod - 0.5, Math.max(minPeriod, Math.min(ax0.lobe, ay0.lobe)));
  // Coarse-to-fine: score a coarse period grid, then re-score finely around its best peaks.
  const coarse = periodGrid(lowest, maxPeriod, Math.max(rx.length, ry.length), 0.5);
  const cj = jointScores(rx, ry, coarse, lowest);
  const seeds = topPeaks(cj, 6).map((i) => coarse[i] as number);
  const fine: number[] = [];
  for (const p of seeds) {
    const span = (0.5 * p) / Math.max(rx.length, ry.length) + 0.01;
    for (
      let q = Math.max(lowest, p - span);
      q <= Math.min(maxPeriod, p + span);
      q += Math.max(0.0005, span / 25)
    )
      fine.push(q);
  }
  const periods = Float64Array.from(fine);
  const sx = combScores(rx, periods, lowest);
  const sy = combScores(ry, periods, lowest);
  const joint = new Float64Array(periods.length);
  for (let i = 0; i < joint.length; i++) joint[i] = (sx[i] as number) + (sy[i] as number);
  const pj = periods[argmax(joint)] as number;
  const perAxis = (s: Float64Array) => {
    let best = -1;
    for (let i = 0; i < periods.length; i++) {
      const p = periods[i] as number;
      if (Math.abs(p - pj) <= pj * 0.05 && (best < 0 || (s[i] as number) > (s[best] as number)))
        best = i;
    }
    return periods[best] as number;
  };
  const span = (p: number, extent: number) => Math.min(0.04 * p, (0.5 * p * p) / extent + 0.02);
  const px0 = perAxis(sx);
  const py0 = perAxis(sy);
  const ax = refineAxis(vx, px0, span(px0, img.width));
  const ay = refineAxis(vy, py0, span(py0, img.height));
  // Pixel art that is already 1:1 has no flat cells, but a short "period" can be
  // found on it by chance. Small images (≤ 256 px: not model output) count as
  // upscaled only with clearly flat cells (edges ≥ 3× stronger on the cuts than
  // inside, 4× at a fractional scale); large ones need 1.5× for periods < 4 px.
  let flatCells = true;
  if (ax && ay) {
    const contrast = Math.min(
      gridContrast(profiles.x, ax.period, ax.phase),
      gridContrast(profiles.y, ay.period, ay.phase),
    );
    const integer = (p: number) => p >= 1.95 && Math.abs(p - Math.round(p)) <= 0.03;
    if (Math.max(img.width, img.height) <= 256) {
      flatCells = contrast >= (integer(ax.period) && integer(ay.period) ? 3 : 4);
    } else if (Math.min(ax.period, ay.period) < 4) flatCells = contrast >= 1.5;
  }
  if (!ax || !ay || !flatCells || Math.max(ax.coherence, ay.coherence) < minConfidence) {
    return {
      x: identityAxis(img.width),
      y: identityAxis(img.height),
      confidence: 0,
      source: 'identity',
    };
  }
  const x = { ...ax, ...layCells(img.width, ax.period, ax.phase) };
  const y = { ...ay, ...layCells(img.height, ay.period, ay.phase) };
  return { x, y, confidence: Math.min(ax.coherence, ay.coherence), source: 'detected' };
}
