/** Runs the quality corpus through `processSprite` and scores every case. */
import sharp from 'sharp';
import { processSprite, type SpriteOptions } from '../../daemon/src/sprites/index.js';
import { makeCorpus, renderCase } from './pixel-art-corpus.js';
import type { LogicalSprite } from './pixel-art-sprite.js';
import { type CaseResult, scoreCase } from './sprite-quality.js';

/** One case: `input` through `processSprite`, scored against `truth`, timed. */
export async function scoreProcessed(
  input: Buffer,
  c: { id: string; truth: LogicalSprite },
  tier: string,
  options: SpriteOptions,
): Promise<CaseResult> {
  const t0 = performance.now();
  const out = await processSprite(input, options);
  const ms = performance.now() - t0;
  const { data, info } = await sharp(out.png)
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const score = scoreCase({ data, width: info.width, height: info.height }, c.truth);
  return {
    id: c.id,
    tier,
    truthSize: [c.truth.width, c.truth.height],
    outSize: [out.width, out.height],
    cellSize: out.detected.cellSize,
    confidence: out.detected.confidence,
    ms,
    ...score,
  };
}

export async function runQualityCorpus(
  options: SpriteOptions = {},
  count = 72,
  onCase?: (r: CaseResult) => void,
): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const c of makeCorpus(count)) {
    const r = await scoreProcessed(await renderCase(c), c, c.tier, options);
    results.push(r);
    onCase?.(r);
  }
  return results;
}
