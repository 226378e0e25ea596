/**
 * `npm run bench`: runs every test/bench/*.bench.ts one after another (never in parallel: these
 * machines have 2 cores and each bench measures its own baseline in the same run), then writes
 * their printed tables, with the machine they ran on, into README.md between the
 * `<!-- bench:start -->` and `<!-- bench:end -->` markers.
 *
 *   npm run bench                 all benches, README updated
 *   npm run bench -- deploy mcp   only benches whose file name contains one of the words
 *   npm run bench -- --no-write   print only
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const args = process.argv.slice(2);
const write = !args.includes('--no-write');
const filters = args.filter((a) => !a.startsWith('--'));

// Each bench is a command; the Rust core's watcher-latency bench rides along with the TS ones.
const benches: { name: string; command: string; args: string[] }[] = [
  ...readdirSync(here)
    .filter((f) => f.endsWith('.bench.ts'))
    .sort()
    .map((f) => ({ name: f, command: process.execPath, args: ['--import', 'tsx', join(here, f)] })),
  {
    name: 'bevy-plugin watch-latency (Rust core)',
    // the Rust example reports on stderr (the crate warns on print_stdout): fold it into stdout
    command: 'bash',
    args: ['-c', 'bash "$0" 2>&1', join(root, 'bevy-plugin/ci/bench-watch-latency.sh')],
  },
].filter((b) => filters.length === 0 || filters.some((w) => b.name.includes(w)));

const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

const sections: string[] = [];
let failed = 0;
for (const { name: file, command, args: benchArgs } of benches) {
  process.stderr.write(`\n=== ${file}\n`);
  const started = Date.now();
  const run = spawnSync(command, benchArgs, {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 10 * 60_000,
  });
  const out = (run.stdout ?? '').trimEnd();
  process.stdout.write(`${out}\n`); // stdout-ok: the bench report itself
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  if (run.status !== 0) {
    failed++;
    sections.push(`#### ${file} — FAILED (exit ${run.status ?? run.signal}, ${seconds} s)\n`);
  } else {
    sections.push(`#### ${file} (${seconds} s)\n\n\`\`\`\n${out}\n\`\`\`\n`);
  }
}

const cpu = cpus()[0]?.model ?? 'unknown CPU';
const machine = `${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`;
const block = `<!-- bench:start -->\nMeasured by \`npm run bench\` on ${machine}. Each table carries its own baseline, measured in the same run.\n\n${sections.join('\n')}<!-- bench:end -->`;

if (write && filters.length === 0) {
  const readmePath = join(root, 'README.md');
  const readme = readFileSync(readmePath, 'utf8');
  const re = /<!-- bench:start -->[\s\S]*?<!-- bench:end -->/;
  writeFileSync(readmePath, re.test(readme) ? readme.replace(re, block) : `${readme}\n${block}\n`);
  process.stderr.write('README.md performance section updated\n');
}
process.exit(failed > 0 ? 1 : 0);
