import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningWorker, startWorker } from '../../daemon/src/embedded-worker/index.js';
import { silentLogger } from '../../daemon/src/log.js';
import { readRgba } from '../support/sprite-fixtures.js';
import { suiteTempDir } from '../support/temp-dir.js';

const run = promisify(execFile);
const CLI = resolve(import.meta.dirname, '../../daemon/dist/cli.js');

// `dgx-pixels edit` (built CLI) against the embedded procedural worker over real ZeroMQ:
// the same service as edit_sprite; a bad flag set is refused with every bad flag at once.

const dir = suiteTempDir('dgx-cli-edit-');
let assets: string;
let worker: RunningWorker;
let env: NodeJS.ProcessEnv;

const cli = (...args: string[]) => run('node', [CLI, ...args], { timeout: 60_000, env });

beforeAll(async () => {
  expect(existsSync(CLI), `${CLI} is missing: run npm run build`).toBe(true);
  assets = join(dir, 'assets');
  await mkdir(assets);
  worker = await startWorker({
    req: 'tcp://127.0.0.1:*',
    engine: 'procedural',
    stepMs: 1,
    outputDir: join(dir, 'worker-out'),
    logger: silentLogger,
  });
  env = {
    PATH: process.env.PATH ?? '',
    DGX_PIXELS_ZMQ_ENDPOINT: worker.reqEndpoint,
    DGX_PIXELS_ZMQ_PUB_ENDPOINT: worker.pubEndpoint,
    DGX_PIXELS_GENERATION_DEFAULT_RESOLUTION: '128x128',
    DGX_PIXELS_VALIDATION_ALLOWED_RESOLUTIONS: '[128x128]',
    DGX_PIXELS_LOG_LEVEL: 'warning',
  };
  // a 16×16 two-colour figure on transparent
  const px = Buffer.alloc(16 * 16 * 4);
  for (let y = 3; y < 15; y++)
    for (let x = 4; x < 12; x++)
      px.set(y < 7 ? [220, 180, 40, 255] : [60, 90, 30, 255], (y * 16 + x) * 4);
  await writeFile(
    join(dir, 'hero.png'),
    await sharp(px, { raw: { width: 16, height: 16, channels: 4 } })
      .png()
      .toBuffer(),
  );
  await cli('deploy', join(dir, 'hero.png'), '--name', 'hero', '--assets', assets);
});
afterAll(async () => {
  await worker?.close();
});

describe('dgx-pixels edit', () => {
  it('repaints inside --mask only and deploys the next revision', async () => {
    const before = (await readRgba(join(assets, 'sprites', 'hero.png'))).data;
    const { stdout } = await cli(
      'edit',
      'hero',
      '--prompt',
      'blue slime',
      '--mask',
      '4,3,8,4',
      '--seed',
      '4',
      '--strength',
      '0.9',
      '--assets',
      assets,
      '--state-dir',
      join(dir, 'state'),
      '--json',
    );
    const r = JSON.parse(stdout) as { revision: number; width: number; height: number };
    expect(r).toMatchObject({ revision: 2, width: 16, height: 16 });
    const after = (await readRgba(join(assets, 'sprites', 'hero.png'))).data;
    let inside = 0;
    for (let y = 0; y < 16; y++)
      for (let x = 0; x < 16; x++) {
        const p = (y * 16 + x) * 4;
        const same = [0, 1, 2, 3].every((c) => before[p + c] === after[p + c]);
        if (x >= 4 && x < 12 && y >= 3 && y < 7) inside += same ? 0 : 1;
        else expect(same, `pixel ${x},${y}`).toBe(true);
      }
    expect(inside).toBeGreaterThan(0);
    const manifest = JSON.parse(await readFile(join(assets, 'asset_manifest.json'), 'utf8'));
    expect(manifest.sprites.find((s: { name: string }) => s.name === 'hero').revision).toBe(2);
  });

  it('names every bad flag at once (exit 2) and a hostile name (exit 1)', async () => {
    const bad = await cli(
      'edit',
      'hero',
      '--prompt',
      'x',
      '--mask',
      '1,2,three',
      '--strength',
      '3',
    ).catch((e) => e);
    expect(bad.code).toBe(2);
    for (const flag of ['--prompt', '--mask', '--strength']) expect(bad.stderr).toContain(flag);
    const hostile = await cli(
      'edit',
      '../etc/passwd',
      '--prompt',
      'a hat',
      '--assets',
      assets,
      '--state-dir',
      join(dir, 'state'),
    ).catch((e) => e);
    expect(hostile.code).toBe(1);
    expect(hostile.stderr).toContain('Validation error in name');
    expect(hostile.stderr).toContain('".." segments are not allowed');
  });
});
