/** Quality metrics of a processed sprite against its ground-truth logical sprite. */
import type { LogicalSprite } from './pixel-art-sprite.js';

export interface CaseScore {
  dimsExact: boolean;
  /** Share of opaque ground-truth pixels that come out opaque within `tolerance` per channel. */
  colourMatch: number;
  /** |opaque ∩| / |opaque ∪| of ground truth and output. */
  alphaIoU: number;
  truthColours: number;
  outputColours: number;
}

function distinctOpaque(img: LogicalSprite): number {
  const s = new Set<number>();
  for (let i = 0; i < img.width * img.height; i++) {
    if ((img.data[i * 4 + 3] as number) >= 128) {
      s.add(
        ((img.data[i * 4] as number) << 16) |
          ((img.data[i * 4 + 1] as number) << 8) |
          (img.data[i * 4 + 2] as number),
      );
    }
  }
  return s.size;
}

/**
 * Scores `out` against `truth`. When the sizes differ the output is sampled
 * nearest-neighbour onto the truth's grid (partial credit) and `dimsExact` is false.
 */
export function scoreCase(out: LogicalSprite, truth: LogicalSprite, tolerance = 8): CaseScore {
  let opaqueTruth = 0;
  let matched = 0;
  let inter = 0;
  let union = 0;
  for (let y = 0; y < truth.height; y++) {
    const oy = Math.min(out.height - 1, Math.floor(((y + 0.5) * out.height) / truth.height));
    for (let x = 0; x < truth.width; x++) {
      const ox = Math.min(out.width - 1, Math.floor(((x + 0.5) * out.width) / truth.width));
      const t = (y * truth.width + x) * 4;
      const o = (oy * out.width + ox) * 4;
      const ta = (truth.data[t + 3] as number) >= 128;
      const oa = (out.data[o + 3] as number) >= 128;
      if (ta || oa) union++;
      if (ta && oa) inter++;
      if (!ta) continue;
      opaqueTruth++;
      if (
        oa &&
        Math.abs((truth.data[t] as number) - (out.data[o] as number)) <= tolerance &&
        Math.abs((truth.data[t + 1] as number) - (out.data[o + 1] as number)) <= tolerance &&
        Math.abs((truth.data[t + 2] as number) - (out.data[o + 2] as number)) <= tolerance
      ) {
        matched++;
      }
    }
  }
  return {
    dimsExact: out.width === truth.width && out.height === truth.height,
    colourMatch: opaqueTruth === 0 ? 1 : matched / opaqueTruth,
    alphaIoU: union === 0 ? 1 : inter / union,
    truthColours: distinctOpaque(truth),
    outputColours: distinctOpaque(out),
  };
}

export interface CaseResult extends CaseScore {
  id: string;
  tier: string;
  truthSize: [number, number];
  outSize: [number, number];
  cellSize: [number, number];
  confidence: number;
  ms: number;
}

export interface QualitySummary {
  cases: number;
  dimsExactShare: number;
  /** Mean over cases of the per-case colour match. */
  colourMatch: number;
  /** Mean over cases of the per-case alpha IoU. */
  alphaIoU: number;
  /** Mean |output colours − truth colours|. */
  paletteSizeError: number;
}

export function summarise(results: CaseResult[]): QualitySummary {
  const n = results.length;
  const mean = (f: (r: CaseResult) => number) => results.reduce((a, r) => a + f(r), 0) / n;
  return {
    cases: n,
    dimsExactShare: mean((r) => (r.dimsExact ? 1 : 0)),
    colourMatch: mean((r) => r.colourMatch),
    alphaIoU: mean((r) => r.alphaIoU),
    paletteSizeError: mean((r) => Math.abs(r.outputColours - r.truthColours)),
  };
}
