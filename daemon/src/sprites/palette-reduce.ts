import { labDistanceSq, rgbToLab } from './colour-space.js';
import { countColours, packRgb, type RawImage } from './raw-image.js';

export interface ReduceOptions {
  /** At most this many colours (default 32). */
  maxColours: number;
  /** Colours closer than this (ΔE76) are one colour with noise (default 3: real shading ramps step by ~4–8). */
  mergeDistance?: number;
  /** A colour covering at most this share of the pixels (default 0.4 %, at least 2 px)… */
  rareShare?: number;
  /** …merges into a commoner colour within this ΔE76 (default 8). */
  rareDistance?: number;
}

interface Cluster {
  weight: number;
  r: number;
  g: number;
  b: number;
  lab: Float64Array;
}

function clusterLab(c: Cluster): void {
  rgbToLab(
    Math.round(c.r / c.weight),
    Math.round(c.g / c.weight),
    Math.round(c.b / c.weight),
    c.lab,
  );
}

const byCountDesc = (a: [number, number], b: [number, number]) => b[1] - a[1];
const byWeightDesc = (a: Cluster, b: Cluster) => b.weight - a.weight;
const nearest = { index: 0, distanceSq: 0 };

/** The centre closest to lab[at..at+2] (the first on ties); one result object, reused. */
function nearestCentre(centres: Float64Array[], lab: Float64Array, at: number): typeof nearest {
  nearest.index = 0;
  nearest.distanceSq = Number.POSITIVE_INFINITY;
  for (let k = 0; k < centres.length; k++) {
    const d = labDistanceSq(centres[k] as Float64Array, 0, lab, at);
    if (d < nearest.distanceSq) {
      nearest.distanceSq = d;
      nearest.index = k;
    }
  }
  return nearest;
}

/**
 * An automatic palette of ≤ `maxColours` for the opaque pixels of `images`
 * (several frames share one palette). Leader clustering in Lab merges the
 * near-duplicates SDXL paints (one logical colour comes out as dozens of shades),
 * two k-means passes settle the centres, then the closest pairs (Ward cost) merge
 * until the cap holds. Each entry is the pixel-weighted mean of its members, so
 * averaging removes the remaining noise. Returns packed 24-bit colours, most used first.
 */
export function reducePalette(images: RawImage[], options: ReduceOptions): number[] {
  const counts = new Map<number, number>();
  for (const img of images)
    for (const [k, v] of countColours(img)) counts.set(k, (counts.get(k) ?? 0) + v);
  const colours = [...counts.entries()].sort(byCountDesc);
  if (colours.length === 0) return [];
  // Plain loops, no closures, on the per-colour paths: V8 recompiled a fresh closure
  // on every call (~4 ms of background TurboFan per sprite, more than the loops).
  const lab = new Float64Array(colours.length * 3);
  for (let i = 0; i < colours.length; i++) {
    const rgb = (colours[i] as [number, number])[0];
    rgbToLab((rgb >> 16) & 255, (rgb >> 8) & 255, rgb & 255, lab, i * 3);
  }
  let merge = options.mergeDistance ?? 3;
  let centres: Float64Array[] = [];
  // Leader clustering; widen the radius until at most 256 leaders remain (keeps Ward below O(256³)).
  for (;;) {
    centres = [];
    const mSq = merge * merge;
    for (let i = 0; i < colours.length && centres.length <= 256; i++) {
      if (nearestCentre(centres, lab, i * 3).distanceSq > mSq)
        centres.push(lab.slice(i * 3, i * 3 + 3));
    }
    if (centres.length <= 256) break;
    merge *= 1.5;
  }
  let clusters: Cluster[] = [];
  for (let pass = 0; pass < 3; pass++) {
    clusters = centres.map(() => ({ weight: 0, r: 0, g: 0, b: 0, lab: new Float64Array(3) }));
    for (let i = 0; i < colours.length; i++) {
      const [rgb, w] = colours[i] as [number, number];
      const cl = clusters[nearestCentre(centres, lab, i * 3).index] as Cluster;
      cl.weight += w;
      cl.r += ((rgb >> 16) & 255) * w;
      cl.g += ((rgb >> 8) & 255) * w;
      cl.b += (rgb & 255) * w;
    }
    clusters = clusters.filter((c) => c.weight > 0);
    for (const c of clusters) clusterLab(c);
    centres = clusters.map((c) => c.lab);
  }
  // Merge pairs: first every pair closer than `merge` (k-means may split one noisy
  // colour between two leaders), then the cheapest (Ward) pairs until the cap holds.
  const mergeSq = (options.mergeDistance ?? 3) ** 2;
  for (;;) {
    let bi = -1;
    let bj = -1;
    let bestCost = Number.POSITIVE_INFINITY;
    let nearI = -1;
    let nearJ = -1;
    let nearD = mergeSq;
    for (let i = 0; i < clusters.length; i++) {
      const a = clusters[i] as Cluster;
      for (let j = i + 1; j < clusters.length; j++) {
        const b = clusters[j] as Cluster;
        const d = labDistanceSq(a.lab, 0, b.lab, 0);
        if (d < nearD) {
          nearD = d;
          nearI = i;
          nearJ = j;
        }
        const cost = ((a.weight * b.weight) / (a.weight + b.weight)) * d;
        if (cost < bestCost) {
          bestCost = cost;
          bi = i;
          bj = j;
        }
      }
    }
    if (nearI < 0 && clusters.length <= options.maxColours) break;
    if (nearI >= 0) {
      bi = nearI;
      bj = nearJ;
    }
    if (bi < 0) break;
    const a = clusters[bi] as Cluster;
    const b = clusters[bj] as Cluster;
    a.weight += b.weight;
    a.r += b.r;
    a.g += b.g;
    a.b += b.b;
    clusterLab(a);
    clusters.splice(bj, 1);
  }
  // A rare colour (a few pixels) next to a common one is the common one with noise
  // on it; real shading ramps cover many pixels and stay.
  let total = 0;
  for (const c of clusters) total += c.weight;
  const rare = Math.max(2, total * (options.rareShare ?? 0.004));
  const nearSq = (options.rareDistance ?? 8) ** 2;
  clusters.sort(byWeightDesc);
  for (let i = clusters.length - 1; i > 0; i--) {
    const c = clusters[i] as Cluster;
    if (c.weight > rare) break;
    let best = -1;
    let bestD = nearSq;
    for (let j = 0; j < i; j++) {
      const d = labDistanceSq(c.lab, 0, (clusters[j] as Cluster).lab, 0);
      if (d <= bestD) {
        bestD = d;
        best = j;
      }
    }
    if (best < 0) continue;
    const a = clusters[best] as Cluster;
    a.weight += c.weight;
    a.r += c.r;
    a.g += c.g;
    a.b += c.b;
    clusterLab(a);
    clusters.splice(i, 1);
  }
  return clusters
    .sort(byWeightDesc)
    .map((c) =>
      packRgb(Math.round(c.r / c.weight), Math.round(c.g / c.weight), Math.round(c.b / c.weight)),
    );
}
