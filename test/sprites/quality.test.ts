import { describe, expect, it } from 'vitest';
import { summarise } from '../support/sprite-quality.js';
import { runProceduralCorpus } from '../support/sprite-quality-procedural.js';
import { runQualityCorpus } from '../support/sprite-quality-run.js';

// The issue-5 quality bar, on 72 seeded cases (a third each easy/medium/hard).
// `npm run quality` prints the per-case table behind these numbers.
describe('processSprite quality on the seeded corpus', () => {
  it('recovers dimensions, colours and alpha of the ground-truth sprites', {
    timeout: 120_000,
  }, async () => {
    const results = await runQualityCorpus();
    const s = summarise(results);
    expect(results.length).toBeGreaterThanOrEqual(60);
    expect(s.dimsExactShare, 'share of cases with exact output dimensions').toBeGreaterThanOrEqual(
      0.98,
    );
    expect(
      s.colourMatch,
      'mean share of opaque truth pixels within 8 per channel',
    ).toBeGreaterThanOrEqual(0.97);
    expect(s.alphaIoU, 'mean alpha IoU').toBeGreaterThanOrEqual(0.98);
  });

  it("recovers the embedded procedural engine's sprites", { timeout: 120_000 }, async () => {
    const s = summarise(await runProceduralCorpus(12));
    expect(
      s.dimsExactShare,
      'share of cases with the cell size within 0.5 %',
    ).toBeGreaterThanOrEqual(0.98);
    expect(s.colourMatch).toBeGreaterThanOrEqual(0.97);
    expect(s.alphaIoU).toBeGreaterThanOrEqual(0.98);
  });
});
