/**
 * `npm run quality`: the post-processing quality report — one row per case, then
 * totals against the targets of issue 5. Two sets: the seeded degradation corpus
 * (72 cases, test/support/pixel-art-corpus.ts) and the embedded worker's
 * procedural engine (the pictures the offline demo really produces).
 * QUALITY_CASES / QUALITY_PROCEDURAL_CASES change the counts.
 */

import type { SpriteOptions } from '../../daemon/src/sprites/index.js';
import { runRealCorpus, type Split } from '../support/real-art-corpus.js';
import { type CaseResult, summarise } from '../support/sprite-quality.js';
import { runProceduralCorpus } from '../support/sprite-quality-procedural.js';
import { runQualityCorpus } from '../support/sprite-quality-run.js';

const out = (s: string) => process.stdout.write(`${s}\n`);
const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
const header =
  'case                                  truth     output    cell(px)        conf  dims  colour   IoU     colours(out/truth)  ms';
const line = (r: CaseResult) =>
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
const totals = (label: string, rs: CaseResult[]) => {
  if (rs.length === 0) return;
  const t = summarise(rs);
  out(
    `${label.padEnd(10)} n=${t.cases}  dims exact ${pct(t.dimsExactShare)}  colour match ${pct(t.colourMatch)}  alpha IoU ${t.alphaIoU.toFixed(3)}  |colours−truth| ${t.paletteSizeError.toFixed(1)}`,
  );
};

const only = process.env.QUALITY_ONLY; // 'real' or 'synthetic' to run one corpus
/** QUALITY_OPTIONS: processSprite options as JSON, e.g. '{"colours":64}', for experiments. */
const options = JSON.parse(process.env.QUALITY_OPTIONS ?? '{}') as SpriteOptions;
const splits = (process.env.QUALITY_SPLITS ?? 'dev,test').split(',') as Split[];
let real: CaseResult[] = [];
if (only !== 'synthetic') {
  out(
    'Real-art corpus (test/sprites/real-art: released game sprites, SDXL-like degradation, no size hint)',
  );
  out(header);
  real = await runRealCorpus(splits, options, line);
  out('');
}
if (only === 'real') {
  for (const split of splits)
    for (const enc of ['png', 'jpeg'])
      totals(
        `${split}/${enc}`,
        real.filter((r) => r.id.startsWith(`${split}/`) && r.tier === enc),
      );
  totals('real', real);
  out(
    'real-art targets: dims exact ≥ 98 %, colour match ≥ 90 %, alpha IoU ≥ 0.95, JPEG and lossless each',
  );
  process.exit(0);
}
out('Seeded degradation corpus (test/support/pixel-art-corpus.ts)');
out(header);
const results = await runQualityCorpus(options, Number(process.env.QUALITY_CASES ?? 72), line);
out('');
out(
  'Embedded worker procedural engine (sprite inside a larger canvas: dims = cell size within 0.5 %)',
);
out(header);
const procedural = await runProceduralCorpus(
  Number(process.env.QUALITY_PROCEDURAL_CASES ?? 20),
  line,
);
out('');
for (const tier of ['easy', 'medium', 'hard'])
  totals(
    tier,
    results.filter((r) => r.tier === tier),
  );
totals('corpus', results);
for (const split of splits)
  for (const enc of ['png', 'jpeg'])
    totals(
      `${split}/${enc}`,
      real.filter((r) => r.id.startsWith(`${split}/`) && r.tier === enc),
    );
if (real.length > 0) totals('real', real);
totals('procedural', procedural);
out(
  'real-art targets: dims exact ≥ 98 %, colour match ≥ 90 %, alpha IoU ≥ 0.95, JPEG and lossless each',
);
out('targets: dims exact ≥ 98 %, colour match ≥ 97 %, alpha IoU ≥ 0.98 (means over cases)');
