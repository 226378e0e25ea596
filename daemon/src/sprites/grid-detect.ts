import {
  type EdgeProfiles,
  edgeProfiles,
  removeBaseline,
  suppressJpegBlocks,
} from './edge-profile.js';
import {
  combScores,
  edgeAutocorrelation,
  type GridAxis,
  gridContrast,
  layCells,
  measureAxis,
  periodGrid,
  refineAxis,
  windowResidual,
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

/** Indices of the `k` highest local maxima, highest first (the lower index first on ties). */
function topPeaks(a: Float64Array, k: number): number[] {
  const top: number[] = [];
  for (let i = 0; i < a.length; i++) {
    const v = a[i] as number;
    if ((i > 0 && v < (a[i - 1] as number)) || (i < a.length - 1 && v < (a[i + 1] as number)))
      continue;
    // Insertion into the k best so far, after every equal value (a stable sort's order).
    let at = top.length;
    while (at > 0 && (a[top[at - 1] as number] as number) < v) at--;
    if (at < k) {
      top.splice(at, 0, i);
      if (top.length > k) top.pop();
    }
  }
  return top;
}

/** The best-scoring period within ±5 % of `pj` (one axis's own period near the joint one). */
function bestPeriodNear(periods: Float64Array, s: Float64Array, pj: number): number {
  let best = -1;
  for (let i = 0; i < periods.length; i++) {
    const p = periods[i] as number;
    if (Math.abs(p - pj) <= pj * 0.05 && (best < 0 || (s[i] as number) > (s[best] as number)))
      best = i;
  }
  return periods[best] as number;
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
  const suppressed = (): EdgeProfiles => {
    const p = { x: Float64Array.from(profiles.x), y: Float64Array.from(profiles.y) };
    suppressJpegBlocks(p.x);
    suppressJpegBlocks(p.y);
    return p;
  };
  if (options.jpeg) return detectOnProfiles(img, suppressed(), options);
  // JPEG pixels re-saved as PNG (or any lossy pass) keep the 8-px block grid, which
  // can outscore a faint true grid when a noisy background fills most of the picture.
  // When the block edges stand out and the plain detection lands on them (8 or 16 px,
  // phase 0), detect again with them flattened and keep that if it finds a clear grid.
  const plain = detectOnProfiles(img, profiles, options);
  if (options.logicalSize || blockiness(profiles) < 1.2 || !onBlockGrid(plain)) return plain;
  const cleaned = detectOnProfiles(img, suppressed(), options);
  // A sharp true grid of 8 px at phase 0 loses its edges when flattened: the
  // re-detection then finds only a weak comb, and the plain grid stands.
  if (
    cleaned.source === 'detected' &&
    !onBlockGrid(cleaned) &&
    cleaned.confidence >= Math.max(0.25, 0.5 * plain.confidence)
  )
    return cleaned;
  return plain;
}

/**
 * How much stronger the edge profiles are on JPEG block boundaries (every 8th
 * index) than beside them: ≈ 1 for lossless art whose grid is unrelated to 8,
 * 1.2–2.5 for JPEG-compressed pixels. The smaller of both axes.
 */
export function blockiness(p: EdgeProfiles): number {
  return Math.min(blockEdgeRatio(p.x), blockEdgeRatio(p.y));
}

function blockEdgeRatio(a: Float64Array): number {
  let on = 0;
  let beside = 0;
  for (let i = 8; i < a.length - 1; i += 8) {
    on += a[i] as number;
    beside += ((a[i - 1] as number) + (a[i + 1] as number)) / 2;
  }
  return on / Math.max(1e-9, beside);
}

/** A detected grid whose cells are the JPEG blocks (8 or 16 px, cut lines at multiples of 8). */
function onBlockGrid(g: Grid): boolean {
  if (g.source !== 'detected') return false;
  return [g.x, g.y].every((a) => {
    const near = (q: number) => Math.abs(a.period - q) <= q * 0.02;
    const m = a.phase % 8;
    return (near(8) || near(16)) && Math.min(m, 8 - m) <= 1.5;
  });
}

/** How far (px) a model's grid lines may wander from a uniform whole-canvas grid (slow drift). */
const MAX_DRIFT_PX = 2;

/**
 * The grid along one axis, snapped to a whole number of cells across the image
 * when such a grid fits: a model draws its whole canvas on the grid, so the true
 * grid has about `extent / period` cells with a cut line near the image border
 * (phase ≈ 0). Under slow drift a sprite covering part of the picture pulls the
 * free estimate 0.5–1 % off, i.e. one cell too many or too few across 1024 px.
 * The whole-canvas candidates (±1 cell, within 1.2 %) compete twice: first those
 * that put a cut near the border (0.05 cells) over the whole axis, taken when
 * the coherence is ≥ 0.9× the free estimate's; then piecewise (`windowResidual`):
 * the candidate whose cuts stay within MAX_DRIFT_PX of the edges in every window
 * (the drift moves the cuts a little everywhere; a wrong count moves them by up
 * to a cell). Without such a candidate (a cropped picture, a sprite placed off
 * the canvas grid) the free estimate stays.
 */
function snapToExtent(
  v: Float64Array,
  extent: number,
  a: { period: number; phase: number; coherence: number },
): { period: number; phase: number; coherence: number } {
  const n = Math.round(extent / a.period);
  let best: { period: number; phase: number; coherence: number } | null = null;
  for (const cells of [n - 1, n, n + 1]) {
    if (cells < 1) continue;
    const p = extent / cells;
    if (Math.abs(p - a.period) > a.period * 0.012) continue;
    const m = measureAxis(v, p);
    const off = Math.min(m.phase, p - m.phase);
    if (off > Math.max(0.5, 0.05 * p)) continue;
    if (!best || m.coherence > best.coherence) best = { period: p, ...m };
  }
  if (best && best.coherence >= 0.9 * a.coherence) return best;
  // Under drift the phase measured over the whole axis wanders by the drift, so
  // the test above can miss the right count. Piecewise: the whole-canvas
  // candidate whose cut lines stay within MAX_DRIFT_PX of the edges in every
  // window that has edges wins (a wrong count is a cell off at one end).
  let anchored: { period: number; phase: number; coherence: number; residual: number } | null =
    null;
  for (const cells of [n - 1, n, n + 1]) {
    if (cells < 1) continue;
    const p = extent / cells;
    if (Math.abs(p - a.period) > a.period * 0.012) continue;
    const residual = windowResidual(v, p);
    if (!anchored || residual < anchored.residual)
      anchored = { period: p, ...measureAxis(v, p), residual };
  }
  if (anchored && anchored.residual <= MAX_DRIFT_PX) {
    const { residual: _, ...axis } = anchored;
    return axis;
  }
  return a;
}

function detectOnProfiles(img: RawImage, profiles: EdgeProfiles, options: GridOptions): Grid {
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
  const coarse = periodGrid(lowest, maxPeriod, Math.max(rx.length, ry.length), 1);
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
  const span = (p: number, extent: number) => Math.min(0.04 * p, (0.5 * p * p) / extent + 0.02);
  const px0 = bestPeriodNear(periods, sx, pj);
  const py0 = bestPeriodNear(periods, sy, pj);
  const rax = refineAxis(vx, px0, span(px0, img.width));
  const ray = refineAxis(vy, py0, span(py0, img.height));
  let ax = rax;
  let ay = ray;
  if (rax && ray) {
    // Snap each axis to whole-canvas cells, but only where the result keeps the
    // cells as square as the free estimate had them (one axis snapped alone can
    // pull a right period 0.6 % off).
    const sx = snapToExtent(vx, img.width, rax);
    const sy = snapToExtent(vy, img.height, ray);
    const skew = (a: number, b: number) => Math.abs(a - b) / Math.max(a, b);
    const allowed = Math.max(0.004, skew(rax.period, ray.period) + 1e-9);
    if (skew(sx.period, sy.period) <= allowed) {
      ax = sx;
      ay = sy;
    } else if (skew(sx.period, ray.period) <= allowed) ax = sx;
    else if (skew(rax.period, sy.period) <= allowed) ay = sy;
  }
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
