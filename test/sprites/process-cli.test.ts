import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { beforeEach, describe, expect, it } from 'vitest';
import { HERO, upscale } from '../support/sprite-fixtures.js';
import { tempDir } from '../support/temp-dir.js';

const run = promisify(execFile);
const CLI = resolve(import.meta.dirname, '../../daemon/dist/cli.js');

// Spawns the built CLI (npm test builds first; run `npm run build` before running this file alone).
describe('dgx-pixels process (built CLI)', () => {
  let dir: string;
  beforeEach(async () => {
    expect(existsSync(CLI), `${CLI} is missing: run npm run build`).toBe(true);
    dir = tempDir('dgx-process-');
  });

  it('prints the detected grid, phase, confidence and palette size', async () => {
    await writeFile(
      join(dir, 'in.png'),
      await upscale(HERO, { scale: [20.5, 20.5], noiseSigma: 2 }),
    );
    const { stdout } = await run(
      'node',
      [CLI, 'process', join(dir, 'in.png'), '-o', join(dir, 'out.png')],
      { timeout: 30_000 },
    );
    expect(stdout).toMatch(/→ .*out\.png: 12×10\n/);
    expect(stdout).toMatch(
      /grid: cell 20\.\d\d×20\.\d\d px, phase [\d.]+,[\d.]+, confidence 0\.\d\d \(detected\), logical 12×10/,
    );
    expect(stdout).toMatch(/palette: 4 colours \(auto\)/);
    const meta = await sharp(join(dir, 'out.png')).metadata();
    expect([meta.width, meta.height, meta.hasAlpha]).toEqual([12, 10, true]);
  });

  it('--json prints the result; flags override the style', async () => {
    await writeFile(join(dir, 'in.png'), await upscale(HERO, { scale: [16, 16] }));
    const { stdout } = await run(
      'node',
      [
        CLI,
        'process',
        join(dir, 'in.png'),
        '-o',
        join(dir, 'out.png'),
        '--palette',
        'gameboy',
        '--size',
        '12x10',
        '--no-bg-removal',
        '--json',
      ],
      { timeout: 30_000 },
    );
    const result = JSON.parse(stdout);
    expect(result).toMatchObject({
      width: 12,
      height: 10,
      settings: { palette: 'gameboy', background: 'none', logicalSize: [12, 10] },
    });
    expect(
      result.palette.every((c: string) => ['#0f380f', '#306230', '#8bac0f', '#9bbc0f'].includes(c)),
    ).toBe(true);
  });

  it('--frames writes a sheet and its Aseprite JSON', async () => {
    const f = await upscale(HERO, { scale: [16, 16] });
    const strip = await sharp({
      create: { width: 384, height: 160, channels: 3, background: '#fff' },
    })
      .composite([
        { input: f, left: 0, top: 0 },
        { input: f, left: 192, top: 0 },
      ])
      .png()
      .toBuffer();
    await writeFile(join(dir, 'strip.png'), strip);
    const { stdout } = await run(
      'node',
      [CLI, 'process', join(dir, 'strip.png'), '-o', join(dir, 'hero.png'), '--frames', '2'],
      { timeout: 30_000 },
    );
    // the hero's 12×10 cells, trimmed to the 8×8 box its figure fills in both frames
    expect(stdout).toMatch(/^sheet: 2×1 frames of 8×8 px .*\(16×8\)/);
    expect(stdout).toMatch(/logical 12×10/);
    const json = JSON.parse(await readFile(join(dir, 'hero.json'), 'utf8'));
    expect(json.meta.frameTags).toEqual([{ name: 'hero', from: 0, to: 1, direction: 'forward' }]);
  });

  it.each([
    [['process'], /need an input file and -o <output.png>/],
    [
      ['process', 'x.png', '-o', 'y.png', '--size', '64'],
      /--size must be WxH with positive integers, e.g. 64x64; got "64"/,
    ],
    [['process', '/nonexistent.png', '-o', 'y.png'], /Cannot read input \/nonexistent.png/],
  ])('exits 2 with a clear message for %j', async (args, message) => {
    const err = (await run('node', [CLI, ...args], { timeout: 30_000 }).catch(
      (e: unknown) => e,
    )) as { code: number; stderr: string };
    expect(err.code).toBe(2);
    expect(err.stderr).toMatch(message);
  });
});
