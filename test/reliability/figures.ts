import { appendFileSync } from 'node:fs';

/**
 * A reliability test records what it measured (counts, latencies, RSS) here; the runner
 * (test/reliability/run.ts) prints them as one table and writes them into README.md.
 * (The variable is not DGX_PIXELS_*: the daemon refuses unknown DGX_PIXELS_ variables.)
 * Outside the runner (RELIABILITY_FIGURES_FILE unset) figures go to stderr only.
 */
export interface Figure {
  suite: string;
  name: string;
  value: number | string;
  unit?: string;
  note?: string;
}

export function recordFigure(figure: Figure): void {
  const file = process.env.RELIABILITY_FIGURES_FILE;
  const line = JSON.stringify(figure);
  if (file) appendFileSync(file, `${line}\n`);
  else process.stderr.write(`figure ${line}\n`);
}
