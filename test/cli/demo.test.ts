import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../support/temp-dir.js';

const run = promisify(execFile);
const CLI = resolve(import.meta.dirname, '../../daemon/dist/cli.js');

// `npm run demo` is the README's first command: the built CLI's demo, end to end (embedded
// worker, the daemon as a child over stdio, a real MCP client), into a temp assets folder.
describe('dgx-pixels demo (built CLI)', () => {
  let dir: string;
  beforeEach(() => {
    expect(existsSync(CLI), `${CLI} is missing: run npm run build`).toBe(true);
    dir = tempDir('dgx-demo-');
  });

  it('generates, post-processes and deploys one sprite, printing each step and the manifest entry', async () => {
    const assets = join(dir, 'assets');
    const { stdout } = await run(
      'node',
      [CLI, 'demo', '--assets', assets, '--name', 'hero', '--size', '24'],
      { cwd: dir, timeout: 120_000 },
    );
    for (const step of [
      /^1\. embedded worker \(procedural engine, no GPU\) at tcp:\/\/127\.0\.0\.1:\d+$/m,
      /^2\. daemon started over stdio \(MCP\): \d+ tools — .*generate_sprite/m,
      /^3\. generate_sprite "knight with a sword" → 24×24 pixel_art sprite, deploy as "hero"$/m,
      /^4\. done in [\d.]+ s on the worker/m,
      /^5\. deployed: .*hero\.png$/m,
    ])
      expect(stdout).toMatch(step);
    const manifest = JSON.parse(await readFile(join(assets, 'asset_manifest.json'), 'utf8')) as {
      sprites: { name: string; path: string; width: number; height: number; revision: number }[];
    };
    const entry = manifest.sprites.find((s) => s.name === 'hero');
    expect(entry).toMatchObject({ width: 24, height: 24, revision: 1 });
    const meta = await sharp(join(assets, entry?.path ?? '')).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 24, 24]);
    // the state stays in the working directory's .dgx-pixels, not in the repo
    expect(existsSync(join(dir, '.dgx-pixels', 'demo', 'last-demo.json'))).toBe(true);
  });

  it('refuses a bad --size with exit 2 and says what is allowed', async () => {
    const err = (await run('node', [CLI, 'demo', '--size', '3'], { cwd: dir }).catch(
      (e: unknown) => e,
    )) as { code?: number; stderr?: string };
    expect(err.code).toBe(2);
    expect(err.stderr).toMatch(/--size must be an integer 4\.\.1024; got "3"/);
  });
});
