/**
 * `npm run test:reliability`: runs the reliability suite (faults, hostile input, load) and prints
 * every figure its tests recorded; with --write-readme it also replaces the README's
 * `<!-- reliability:start -->` … `<!-- reliability:end -->` block.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Figure } from './figures.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const writeReadme = process.argv.includes('--write-readme');
const passThrough = process.argv.slice(2).filter((a) => a !== '--write-readme');
const dir = mkdtempSync(join(tmpdir(), 'dgx-reliability-'));
const figuresFile = join(dir, 'figures.jsonl');

const run = spawnSync(
  process.execPath,
  [
    join(root, 'node_modules/vitest/vitest.mjs'),
    'run',
    '--config',
    'test/reliability/vitest.config.ts',
    ...passThrough,
  ],
  { cwd: root, stdio: 'inherit', env: { ...process.env, RELIABILITY_FIGURES_FILE: figuresFile } },
);

const figures: Figure[] = existsSync(figuresFile)
  ? readFileSync(figuresFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Figure)
  : [];
rmSync(dir, { recursive: true, force: true });

const rows = figures.map(
  (f) => `| ${f.suite} | ${f.name} | ${f.value}${f.unit ? ` ${f.unit}` : ''} | ${f.note ?? ''} |`,
);
const table = [
  `Measured by \`npm run test:reliability\` on ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}.`,
  '',
  '| suite | figure | value | note |',
  '|---|---|---|---|',
  ...rows,
].join('\n');
process.stdout.write(`\n${table}\n`); // stdout-ok: the report

if (writeReadme && run.status === 0) {
  const readmePath = join(root, 'README.md');
  const readme = readFileSync(readmePath, 'utf8');
  const block = `<!-- reliability:start -->\n${table}\n<!-- reliability:end -->`;
  const re = /<!-- reliability:start -->[\s\S]*?<!-- reliability:end -->/;
  writeFileSync(readmePath, re.test(readme) ? readme.replace(re, block) : `${readme}\n${block}\n`);
}
process.exit(run.status ?? 1);
