/**
 * `npm run test:game`: the example Bevy game in a real window (Xvfb) rendered by Mesa's software
 * Vulkan (lavapipe), against the embedded procedural worker and the daemon that the game starts
 * through the plugin, as a user's game would. The game plays its self-test
 * (bevy-plugin/example-game/src/autotest.rs) and writes before.png, after.png, deployed.png,
 * editor.png and report.json into $GAME_TEST_OUT (default: a temp dir, printed). This driver then
 * checks the pictures on its own (sharp), drives the game over the Bevy Remote Protocol
 * (dgx_pixels/status, /generate, /jobs on 127.0.0.1), stops it with SIGINT and prints the
 * deploy → on-screen latency beside Bevy's own file-watcher reload, measured in the same run.
 *
 *   npm run test:game                      # builds the daemon and the game first
 *   npm run test:game -- --write-readme    # also rewrites the README's game block
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { encodeRgbaPng } from '../support/png.js';
import { freePort } from '../support/ports.js';
import { fixedEndpoints, ROOT, spawnWorker } from '../support/reliability-procs.js';
import { waitFor } from '../support/wait.js';

const writeReadme = process.argv.includes('--write-readme');
const SAMPLES = Number(process.env.GAME_TEST_SAMPLES ?? 20);
const log = (msg: string) => process.stderr.write(`[test:game] ${msg}\n`);

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}
const checks: Check[] = [];
function check(name: string, ok: boolean, detail = ''): boolean {
  checks.push({ name, ok, detail });
  log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ` — ${detail}` : ''}`);
  return ok;
}

interface Placement {
  x: number;
  y: number;
  scale: number;
}
interface Summary {
  n: number;
  frames_p50: number;
  frames_p99: number;
  ms_p50: number;
  ms_p99: number;
}
interface Report {
  passed: boolean;
  failure: string | null;
  hero_frames_after_manifest_event: number | null;
  editor_prompt: string;
  edit: { mask: number[]; changed_inside: number; changed_outside: number } | null;
  latency: {
    deploy_to_bevy: Summary;
    deploy_frames_after_manifest_event: number[];
    bevy_file_watcher_baseline: Summary;
  };
  placements: { hero: Placement; probe: Placement; baseline: Placement };
}

/** A 16×16 opaque sprite whose colours and stripes differ from its neighbours'. */
function variant(i: number): Buffer {
  const base = [(i * 67 + 40) % 256, (i * 131 + 90) % 256, (i * 29 + 160) % 256];
  const raw = Buffer.alloc(16 * 16 * 4);
  for (let y = 0; y < 16; y++) {
    for (let x = 0; x < 16; x++) {
      const stripe = (x + y + i) % 4 === 0;
      const o = (y * 16 + x) * 4;
      for (let c = 0; c < 3; c++) raw[o + c] = stripe ? 255 - (base[c] ?? 0) : (base[c] ?? 0);
      raw[o + 3] = 255;
    }
  }
  return encodeRgbaPng(raw, 16, 16);
}

/** Share of the sprite's opaque pixels that appear at `at` (nearest, integer scale) in `screen`. */
async function shownShare(screenPng: string, spritePng: string, at: Placement): Promise<number> {
  const screen = await sharp(screenPng).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const sprite = await sharp(spritePng).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  let judged = 0;
  let matched = 0;
  for (let sy = 0; sy < sprite.info.height; sy++) {
    for (let sx = 0; sx < sprite.info.width; sx++) {
      const s = (sy * sprite.info.width + sx) * 4;
      if (sprite.data[s + 3] !== 255) continue;
      for (let d = 0; d < at.scale * at.scale; d++) {
        const x = at.x + sx * at.scale + (d % at.scale);
        const y = at.y + sy * at.scale + Math.floor(d / at.scale);
        judged++;
        if (x >= screen.info.width || y >= screen.info.height) continue;
        const p = (y * screen.info.width + x) * 4;
        let close = true;
        for (let c = 0; c < 3; c++) {
          if (Math.abs((screen.data[p + c] ?? 0) - (sprite.data[s + c] ?? 0)) > 3) close = false;
        }
        if (close) matched++;
      }
    }
  }
  return judged === 0 ? 0 : matched / judged;
}

interface BrpReply<T> {
  result?: T;
  error?: { code: number; message: string };
}

async function brp<T>(port: number, method: string, params?: unknown): Promise<BrpReply<T>> {
  const res = await fetch(`http://127.0.0.1:${port}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method,
      ...(params === undefined ? {} : { params }),
    }),
  });
  return (await res.json()) as BrpReply<T>;
}

function sh(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
}

function gameBinary(): string {
  const out = spawnSync('bash', ['bevy-plugin/ci/build-game.sh'], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (out.status !== 0) throw new Error(`building the example game failed (exit ${out.status})`);
  const bin = out.stdout.trim().split('\n').pop() ?? '';
  if (!existsSync(bin)) throw new Error(`build-game.sh printed no binary path (${bin})`);
  return bin;
}

/** Starts Xvfb on a free display number; resolves with ":N". */
function startXvfb(): Promise<{ display: string; proc: ChildProcess }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(
      'Xvfb',
      ['-displayfd', '3', '-screen', '0', '1024x768x24', '-nolisten', 'tcp'],
      {
        stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
      },
    );
    let err = '';
    proc.stderr?.on('data', (d) => {
      err += String(d);
    });
    proc.on('error', (e) => reject(new Error(`Xvfb: ${e.message} (apt-get install xvfb)`)));
    proc.on('exit', (code) => reject(new Error(`Xvfb exited ${code}: ${err}`)));
    const fd3 = proc.stdio[3] as NodeJS.ReadableStream;
    fd3.once('data', (d) => resolve({ display: `:${String(d).trim()}`, proc }));
  });
}

async function main(): Promise<number> {
  sh('bash', ['bevy-plugin/ci/install-render-deps.sh']);
  const bin = gameBinary();
  const work = mkdtempSync(join(tmpdir(), 'dgx-game-'));
  const out = process.env.GAME_TEST_OUT ?? join(work, 'out');
  const assets = join(work, 'assets');
  const inputs = join(work, 'inputs');
  for (const d of [out, assets, inputs, join(work, 'xdg')])
    mkdirSync(d, { recursive: true, mode: 0o700 });
  log(`pictures and report go to ${out}`);
  for (let i = 0; i < SAMPLES; i++) writeFileSync(join(inputs, `variant_${i}.png`), variant(i));
  // The baseline sprite starts as the last variant, so variant 0 is a change.
  writeFileSync(join(assets, 'baseline.png'), variant(SAMPLES));

  const endpoints = await fixedEndpoints();
  const worker = await spawnWorker(endpoints, { stepMs: 15, outputDir: join(work, 'worker-out') });
  const xvfb = await startXvfb();
  const brpPort = await freePort();
  const gameLog = createWriteStream(join(out, 'game.log'));
  const game = spawn(bin, [], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      DISPLAY: xvfb.display,
      WGPU_BACKEND: 'vulkan',
      XDG_RUNTIME_DIR: join(work, 'xdg'),
      RUST_LOG: process.env.RUST_LOG ?? 'warn,dgx_pixels_example_game=info,dgx_pixels_bevy=info',
      GAME_TEST_OUT: out,
      GAME_TEST_INPUTS: inputs,
      GAME_TEST_SAMPLES: String(SAMPLES),
      GAME_ASSETS_DIR: assets,
      GAME_BRP_PORT: String(brpPort),
      // this checkout's daemon: the binary's compiled-in package path can be another
      // checkout's when the shared cargo target dir reused the binary
      DGX_PIXELS_DAEMON: ROOT,
      DGX_PIXELS_ZMQ_ENDPOINT: endpoints.req,
      // A loaded machine may answer a ping late; the game test is not about that.
      DGX_PIXELS_BACKEND_PING_TIMEOUT_MS: '2000',
      DGX_PIXELS_ZMQ_PUB_ENDPOINT: endpoints.pub,
      DGX_PIXELS_STATE_DIR: join(work, 'state'),
    },
  });
  game.stdout?.pipe(gameLog);
  game.stderr?.pipe(gameLog);
  const gameExit = new Promise<number | null>((r) => game.on('exit', (code) => r(code)));
  let exited: number | null | undefined;
  void gameExit.then((c) => {
    exited = c;
  });

  try {
    const reportPath = join(out, 'report.json');
    await waitFor(
      () => existsSync(reportPath) || exited !== undefined,
      'report.json or the game exit',
      600_000,
    );
    if (!existsSync(reportPath)) {
      check('the game wrote report.json', false, `exited ${exited}; see ${join(out, 'game.log')}`);
      return 1;
    }
    const report = JSON.parse(readFileSync(reportPath, 'utf8')) as Report;
    check('the game self-test passed', report.passed, report.failure ?? '');
    for (const f of ['before.png', 'after.png', 'deployed.png', 'editor.png', 'edit.png']) {
      check(`${f} written`, existsSync(join(out, f)));
    }
    if (existsSync(join(out, 'after.png')) && existsSync(join(out, 'deployed.png'))) {
      const after = await shownShare(
        join(out, 'after.png'),
        join(out, 'deployed.png'),
        report.placements.hero,
      );
      const before = await shownShare(
        join(out, 'before.png'),
        join(out, 'deployed.png'),
        report.placements.hero,
      );
      check(
        'after.png shows deployed.png pixel for pixel at 4×',
        after >= 0.995,
        `${(after * 100).toFixed(2)} %`,
      );
      check('before.png does not show it', before < 0.9, `${(before * 100).toFixed(2)} %`);
      const meta = await sharp(join(out, 'after.png')).metadata();
      check(
        'screenshots are the 800×600 window',
        meta.width === 800 && meta.height === 600,
        `${meta.width}×${meta.height}`,
      );
    }
    check(
      'the editor sent the typed prompt',
      report.editor_prompt === 'a red potion bottle',
      report.editor_prompt,
    );
    const edit = report.edit;
    check(
      'an edit through the editor (Edit…, drag, prompt, Apply) keeps every pixel outside the region',
      edit !== null && edit.changed_outside === 0 && edit.changed_inside > 0,
      edit === null
        ? 'no edit reported'
        : `region ${edit.mask.join(',')}: ${edit.changed_inside} changed inside, ${edit.changed_outside} outside`,
    );
    if (existsSync(join(out, 'editor.png'))) {
      // The panel sits at the top left: there, hardly a pixel is the game's clear colour.
      const { data, info } = await sharp(join(out, 'editor.png'))
        .extract({ left: 8, top: 8, width: 300, height: 300 })
        .raw()
        .toBuffer({ resolveWithObject: true });
      let clear = 0;
      for (let p = 0; p < data.length; p += info.channels) {
        const [r, g, b] = [data[p] ?? 0, data[p + 1] ?? 0, data[p + 2] ?? 0];
        if (Math.abs(r - 24) <= 1 && Math.abs(g - 26) <= 1 && Math.abs(b - 33) <= 1) clear++;
      }
      const share = clear / (300 * 300);
      check(
        'editor.png shows the panel',
        share < 0.05,
        `${(share * 100).toFixed(1)} % clear colour`,
      );
    }
    const ours = report.latency.deploy_to_bevy;
    check(`${SAMPLES} deploys measured`, ours.n === SAMPLES, `${ours.n}`);
    const afterEvent = report.latency.deploy_frames_after_manifest_event;
    const p99AfterEvent =
      [...afterEvent].sort((a, b) => a - b)[Math.round(0.99 * (afterEvent.length - 1))] ?? NaN;
    check(
      'deploy on screen ≤ 2 frames after the manifest event (p99)',
      p99AfterEvent <= 2,
      `p99 ${p99AfterEvent}`,
    );

    const daemonPid = report.passed ? await brpChecks(brpPort) : undefined;

    game.kill('SIGINT');
    const code = await Promise.race([
      gameExit,
      new Promise((r) => setTimeout(() => r('timeout'), 15_000)),
    ]);
    // Bevy's Ctrl+C handler exits gracefully (AppExit) with code 130.
    check('the game exits gracefully on SIGINT', code === 130, `exit ${String(code)}`);
    if (daemonPid !== undefined) {
      const gone = await waitFor(() => !alive(daemonPid), 'the daemon to exit', 5_000).catch(
        () => false,
      );
      check('the plugin stopped its daemon on exit', gone === true, `pid ${daemonPid}`);
    }

    printLatency(report);
    if (writeReadme && checks.every((c) => c.ok)) updateReadme(report);
  } finally {
    if (exited === undefined) game.kill('SIGKILL');
    xvfb.proc.kill('SIGTERM');
    await worker.kill9();
  }
  const failed = checks.filter((c) => !c.ok).length;
  process.stdout.write(`\ngame: ${checks.length - failed} passed, ${failed} failed\n`); // stdout-ok: the result
  return failed === 0 ? 0 : 1;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The BRP checks; resolves with the daemon's pid as the game reports it. */
async function brpChecks(port: number): Promise<number | undefined> {
  const discover = await brp<{ methods: { name: string }[] }>(port, 'rpc.discover');
  const methods = (discover.result?.methods ?? []).map((m) => m.name);
  check(
    'BRP lists dgx_pixels/generate, /status, /jobs',
    ['dgx_pixels/generate', 'dgx_pixels/status', 'dgx_pixels/jobs'].every((m) =>
      methods.includes(m),
    ),
  );
  const bad = await brp<unknown>(port, 'dgx_pixels/generate', { prompt: 'x' });
  check(
    'BRP generate without a name names the field',
    /^name:/.test(bad.error?.message ?? ''),
    bad.error?.message,
  );
  const asked = await brp<{ job: string }>(port, 'dgx_pixels/generate', {
    name: 'brp_coin',
    prompt: 'a gold coin',
    width: 16,
  });
  const job: string | undefined = asked.result?.job;
  if (!check('BRP generate answers a job id', typeof job === 'string', JSON.stringify(asked)))
    return;
  let last: { pid: number | null; sprites: { name: string; loaded: boolean }[] } | undefined;
  try {
    await waitFor(
      async () => {
        last = (await brp<typeof last>(port, 'dgx_pixels/status')).result;
        return (last?.sprites ?? []).some((s) => s.name === 'brp_coin' && s.loaded);
      },
      'brp_coin loaded in the game',
      60_000,
    );
    check('a sprite asked for over BRP is loaded in the running game', true);
  } catch (e) {
    check(
      'a sprite asked for over BRP is loaded in the running game',
      false,
      `${(e as Error).message}: ${JSON.stringify(last)}`,
    );
  }
  const jobs = await brp<{ jobs: { state: string }[] }>(port, 'dgx_pixels/jobs', { job });
  check(
    'BRP jobs reports it finished',
    jobs.result?.jobs?.[0]?.state === 'finished',
    JSON.stringify(jobs.result?.jobs?.[0]),
  );
  return last?.pid ?? undefined;
}

function fmt(s: Summary): string {
  return `${s.frames_p50} / ${s.frames_p99} frames, ${s.ms_p50.toFixed(1)} / ${s.ms_p99.toFixed(1)} ms`;
}

function latencyTable(report: Report): string {
  const ours = report.latency.deploy_to_bevy;
  const base = report.latency.bevy_file_watcher_baseline;
  const afterEvent = [...report.latency.deploy_frames_after_manifest_event].sort((a, b) => a - b);
  const pick = (p: number) => afterEvent[Math.round(p * (afterEvent.length - 1))];
  return [
    `Measured by \`npm run test:game\` (Xvfb + Mesa lavapipe, 800×600, debug build), ${new Date().toISOString().slice(0, 10)}, ${ours.n} deploys each, p50 / p99:`,
    '',
    '| path | deploy → first rendered frame showing it | ratio (ms p50) |',
    '|---|---|---|',
    `| \`deploy_to_bevy\` through the daemon → manifest → plugin reload | ${fmt(ours)}; ${pick(0.5)} / ${pick(0.99)} frames after the manifest event | ${(ours.ms_p50 / base.ms_p50).toFixed(2)}× |`,
    `| baseline: Bevy's own file watcher, PNG overwritten in place | ${fmt(base)} | 1.00× |`,
  ].join('\n');
}

function printLatency(report: Report): void {
  process.stdout.write(`\n${latencyTable(report)}\n`); // stdout-ok: the report
}

function updateReadme(report: Report): void {
  const path = join(ROOT, 'README.md');
  const readme = readFileSync(path, 'utf8');
  const block = `<!-- game:start -->\n${latencyTable(report)}\n<!-- game:end -->`;
  const re = /<!-- game:start -->[\s\S]*?<!-- game:end -->/;
  writeFileSync(path, re.test(readme) ? readme.replace(re, block) : `${readme}\n${block}\n`);
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    log(`error: ${(e as Error).stack ?? String(e)}`);
    process.stdout.write('\ngame: 0 passed, 1 failed\n'); // stdout-ok: the result
    process.exit(1);
  },
);
