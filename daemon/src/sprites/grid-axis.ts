import { fft, nextPow2 } from './fft.js';

/**
 * The logical-pixel grid along one axis: cells of `period` px (not rounded: SDXL
 * draws 1024/64 = 16 but also 1024/71 = 14.42) starting at `start` (may be < 0 when
 * the first cell is cut by the image border), `cells` of them, and the cut
 * positions in source pixels (`cuts.length === cells + 1`).
 */
export interface GridAxis {
  period: number;
  /** Where cut lines fall modulo the period, in [0, period). */
  phase: number;
  /** Phase coherence of the edge profile at this period, 0..1. */
  coherence: number;
  cells: number;
  start: number;
  cuts: Float64Array;
}

/** Coherence |Σ v·e^{2πifx}| / Σ v of the edge profile at frequency `f` (cycles/px), and its angle. */
function dtft(v: Float64Array, idx: Int32Array, total: number, f: number): [number, number] {
  if (idx.length === 0) return [0, 0];
  // e^{iwx} by rotation from the first to the last non-zero index (zeros add
  // nothing): 4 multiplications per pixel instead of a cos and a sin per edge.
  const w = 2 * Math.PI * f;
  const first = idx[0] as number;
  const last = idx[idx.length - 1] as number;
  const cw = Math.cos(w);
  const sw = Math.sin(w);
  let c = Math.cos(w * first);
  let s = Math.sin(w * first);
  let re = 0;
  let im = 0;
  for (let x = first; x <= last; x++) {
    const a = v[x] as number;
    re += a * c;
    im += a * s;
    const c1 = c * cw - s * sw;
    s = s * cw + c * sw;
    c = c1;
  }
  return [Math.hypot(re, im) / total, Math.atan2(im, re)];
}

/** Golden-section search for the coherence maximum in [lo, hi] (frequencies). */
function refinePeak(v: Float64Array, idx: Int32Array, total: number, lo: number, hi: number) {
  const g = (Math.sqrt(5) - 1) / 2;
  let a = lo;
  let b = hi;
  let c = b - g * (b - a);
  let d = a + g * (b - a);
  let fc = dtft(v, idx, total, c)[0];
  let fd = dtft(v, idx, total, d)[0];
  for (let it = 0; it < 18; it++) {
    if (fc > fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - g * (b - a);
      fc = dtft(v, idx, total, c)[0];
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + g * (b - a);
      fd = dtft(v, idx, total, d)[0];
    }
  }
  const f = (a + b) / 2;
  const [coherence, angle] = dtft(v, idx, total, f);
  return { f, coherence, angle };
}

/**
 * Normalised autocorrelation of the edge profile `v` at lags 0..maxLag: divided by
 * the overlap length, the median over lags ≥ `minLag` subtracted (the floor that
 * noise and unrelated edges give) and scaled so the highest lag ≥ `minLag` is 1.
 * `lobe` is the end of the central lobe: every peak is about that wide, and no
 * period shorter than it can be told apart (teeth would land twice on one peak).
 */
export function edgeAutocorrelation(
  v: Float64Array,
  minLag: number,
  maxLag: number,
): { r: Float64Array; lobe: number } {
  const n = v.length;
  const m = nextPow2(n * 2);
  const re = new Float64Array(m);
  const im = new Float64Array(m);
  re.set(v);
  fft(re, im);
  for (let k = 0; k < m; k++) {
    re[k] = (re[k] as number) ** 2 + (im[k] as number) ** 2;
    im[k] = 0;
  }
  fft(re, im); // the power spectrum is real and even: a forward FFT inverts it up to 1/m
  const top = Math.min(maxLag + 1, n - 1);
  const out = new Float64Array(top + 1);
  for (let t = 0; t <= top; t++) out[t] = (re[t] as number) / m / (n - t);
  // The central lobe (an edge blurred over a few pixels correlates with its own
  // neighbourhood) is no period: the search starts after its first minimum.
  let lobe = 1;
  while (lobe < top && (out[lobe + 1] as number) < (out[lobe] as number)) lobe++;
  minLag = Math.max(minLag, lobe);
  for (let t = 0; t < minLag && t <= top; t++) out[t] = 0;
  const tail = Float64Array.from(out.subarray(Math.ceil(minLag))).sort();
  const floor = tail.length > 0 ? (tail[tail.length >> 1] as number) : 0;
  let max = 0;
  for (let t = Math.ceil(minLag); t <= top; t++) max = Math.max(max, (out[t] as number) - floor);
  for (let t = 0; t <= top; t++)
    out[t] = max > 0 && t >= minLag ? ((out[t] as number) - floor) / max : 0;
  return { r: out, lobe };
}

/**
 * For each candidate period p in `periods`: Σ over its multiples k·p ≤ maxLag of
 * (autocorrelation at k·p, interpolated − the mean autocorrelation over lags ≥
 * `fromLag`). A comb of edges with period p0 correlates at p0, 2p0, 3p0…, never at
 * p0/2 (a half shift puts edges on cell middles), so p0 collects every peak; 2p0
 * only half of them; p0/2 the same peaks but pays for twice the teeth; and a comb
 * unrelated to the grid samples lags at random and scores about 0. The best score
 * is the fundamental even when the drawing repeats at a multiple of it (tiles,
 * patterns) and that peak is the highest.
 */
export function combScores(r: Float64Array, periods: Float64Array, fromLag: number): Float64Array {
  const maxLag = r.length - 2;
  let mean = 0;
  const from = Math.max(1, Math.ceil(fromLag));
  for (let t = from; t <= maxLag; t++) mean += r[t] as number;
  const cost = mean / Math.max(1, maxLag - from + 1) + 0.02;
  const out = new Float64Array(periods.length);
  for (let i = 0; i < periods.length; i++) {
    const p = periods[i] as number;
    let s = 0;
    for (let lag = p; lag <= maxLag; lag += p) {
      const f = Math.floor(lag);
      const w = lag - f;
      s += (r[f] as number) * (1 - w) + (r[f + 1] as number) * w - cost;
    }
    out[i] = s;
  }
  return out;
}

/** Candidate periods from `minPeriod` to `maxPeriod`, spaced so that the last tooth before `maxLag` moves at most `toothMovePx` px. */
export function periodGrid(
  minPeriod: number,
  maxPeriod: number,
  maxLag: number,
  toothMovePx = 0.1,
): Float64Array {
  const out: number[] = [];
  for (let p = minPeriod; p <= maxPeriod; p += Math.max(0.001, (toothMovePx * p) / maxLag))
    out.push(p);
  return Float64Array.from(out);
}

/**
 * The exact period and phase near `approx`: the maximum of the comb's phase
 * coherence |Σ v(x)·e^{2πix/p}| / Σ v within ±`span` px, which is also the
 * confidence (1 = every edge on the grid).
 */
export function refineAxis(
  v: Float64Array,
  approx: number,
  span: number,
): { period: number; phase: number; coherence: number } | null {
  const nz: number[] = [];
  let total = 0;
  for (let x = 0; x < v.length; x++) {
    const a = v[x] as number;
    if (a > 0) {
      nz.push(x);
      total += a;
    }
  }
  if (total === 0) return null;
  const idx = Int32Array.from(nz);
  const best = refinePeak(v, idx, total, 1 / (approx + span), 1 / Math.max(1.01, approx - span));
  const period = 1 / best.f;
  let phase = (best.angle / (2 * Math.PI)) * period;
  phase = ((phase % period) + period) % period;
  return { period, phase, coherence: best.coherence };
}

/**
 * Lays cells of `period` px from `phase` over an axis of `extent` px: a cell cut
 * by the border counts when at least half of it is inside. With `cells` given
 * (an explicit logical size), exactly that many cells are laid from the phase
 * nearest to 0.
 */
export function layCells(
  extent: number,
  period: number,
  phase: number,
  cells?: number,
): {
  start: number;
  cells: number;
  cuts: Float64Array;
} {
  const start = phase >= period / 2 ? phase - period : phase;
  const count = cells ?? Math.max(1, Math.floor((extent - start) / period + 0.5));
  const cuts = new Float64Array(count + 1);
  for (let i = 0; i <= count; i++) cuts[i] = start + i * period;
  return { start, cells: count, cuts };
}

/** Coherence and phase of the profile at a given period (for an explicit logical size). */
export function measureAxis(v: Float64Array, period: number): { phase: number; coherence: number } {
  const nz: number[] = [];
  let total = 0;
  for (let x = 0; x < v.length; x++) {
    if ((v[x] as number) > 0) {
      nz.push(x);
      total += v[x] as number;
    }
  }
  if (total === 0) return { phase: 0, coherence: 0 };
  const [coherence, angle] = dtft(v, Int32Array.from(nz), total, 1 / period);
  const phase = ((((angle / (2 * Math.PI)) * period) % period) + period) % period;
  return { phase, coherence };
}

/**
 * How much stronger the edge profile is on the cut lines than inside the cells:
 * mean profile within 0.75 px of a cut ÷ mean profile at least max(1, period/4)
 * px from every cut. An upscaled picture is flat inside its cells (≫ 1, noise
 * only); pixel art that is already 1:1 changes colour anywhere, so a false grid
 * laid over it scores about 1.
 */
export function gridContrast(profile: Float64Array, period: number, phase: number): number {
  let onSum = 0;
  let onN = 0;
  let inSum = 0;
  let inN = 0;
  const inner = Math.max(1, period / 4);
  for (let x = 1; x < profile.length; x++) {
    const t = (((x - phase) % period) + period) % period;
    const d = Math.min(t, period - t);
    if (d <= 0.75) {
      onSum += profile[x] as number;
      onN++;
    } else if (d >= inner) {
      inSum += profile[x] as number;
      inN++;
    }
  }
  // Too few samples to tell (a tiny image): report no contrast, i.e. no grid.
  if (onN < 8 || inN < 8) return 1;
  return onSum / onN / Math.max(1e-9, inSum / inN);
}

/**
 * How far the cut lines of a grid (cuts at phase + k·period; phase 0 = anchored
 * at the image border) lie from the edges the picture really has, measured piecewise: the
 * axis is cut into windows of max(64, 8 periods) px; in each window that holds
 * edges (≥ 10 % of the strongest window's edge mass) the local phase at `period`
 * is measured and wrapped to (−period/2, period/2]. Returns the largest |phase|
 * over those windows (px). A grid drawn over the whole canvas with slow drift
 * stays within the drift everywhere; one cell too many or too few across the
 * canvas moves the phase by a whole cell from one border to the other, so the
 * windows away from the border land far off.
 */
export function windowResidual(v: Float64Array, period: number, phase = 0): number {
  const win = Math.max(64, Math.round(8 * period));
  const w = (2 * Math.PI) / period;
  const windows: { mass: number; phase: number }[] = [];
  for (let a = 0; a < v.length; a += win) {
    let re = 0;
    let im = 0;
    let mass = 0;
    for (let x = a; x < Math.min(v.length, a + win); x++) {
      const e = v[x] as number;
      if (e <= 0) continue;
      re += e * Math.cos(w * x);
      im += e * Math.sin(w * x);
      mass += e;
    }
    // A window whose edges do not agree on a phase (noise) says nothing.
    if (mass === 0 || Math.hypot(re, im) < 0.3 * mass) continue;
    windows.push({ mass, phase: (Math.atan2(im, re) / (2 * Math.PI)) * period });
  }
  let top = 0;
  for (const s of windows) top = Math.max(top, s.mass);
  let worst = 0;
  for (const s of windows) {
    if (s.mass < 0.1 * top) continue;
    let d = (s.phase - phase) % period;
    if (d > period / 2) d -= period;
    if (d <= -period / 2) d += period;
    worst = Math.max(worst, Math.abs(d));
  }
  return windows.length === 0 ? Number.POSITIVE_INFINITY : worst;
}
