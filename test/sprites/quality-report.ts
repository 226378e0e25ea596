/**
 * `npm run quality`: the post-processing quality report on the seeded corpus —
 * one row per case, then the totals against the targets of issue 5.
 */

import { summarise } from '../support/sprite-quality.js';
import { runQualityCorpus } from '../support/sprite-quality-run.js';

const out = (s: string) => process.stdout.write(`${s}\n`);
const pct = (v: number) => `${(v * 100).toFixed(1)}%`;

out(
  'case                                  truth     output    cell(px)        conf  dims  colour   IoU     colours(out/truth)  ms',
);
const results = await runQualityCorpus({}, Number(process.env.QUALITY_CASES ?? 72), (r) => {
  out(
    [
      r.id.padEnd(37),
      `${r.truthSize[0]}x${r.truthSize[1]}`.padEnd(9),
      `${r.outSize[0]}x${r.outSize[1]}`.padEnd(9),
      `${r.cellSize[0].toFixed(2)}x${r.cellSize[1].toFixed(2)}`.padEnd(15),
      r.confidence.toFixed(2).padEnd(5),
      (r.dimsExact ? 'ok' : 'NO').padEnd(5),
      pct(r.colourMatch).padEnd(8),
      r.alphaIoU.toFixed(3).padEnd(7),
      `${r.outputColours}/${r.truthColours}`.padEnd(19),
      r.ms.toFixed(0),
    ].join(' '),
  );
});
const s = summarise(results);
out('');
for (const tier of ['easy', 'medium', 'hard']) {
  const t = summarise(results.filter((r) => r.tier === tier));
  out(
    `${tier.padEnd(7)} n=${t.cases}  dims exact ${pct(t.dimsExactShare)}  colour match ${pct(t.colourMatch)}  alpha IoU ${t.alphaIoU.toFixed(3)}  |colours−truth| ${t.paletteSizeError.toFixed(1)}`,
  );
}
out(
  `overall n=${s.cases}  dims exact ${pct(s.dimsExactShare)} (target ≥ 98%)  colour match ${pct(s.colourMatch)} (≥ 97%)  alpha IoU ${s.alphaIoU.toFixed(3)} (≥ 0.98)  |colours−truth| ${s.paletteSizeError.toFixed(1)}`,
);
