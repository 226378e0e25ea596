import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { beforeEach, describe, expect, it } from 'vitest';
import { countColours } from '../../daemon/src/sprites/raw-image.js';
import { fromPng, pixels, toPng, upscale } from '../support/sprite-fixtures.js';
import { tempDir } from '../support/temp-dir.js';

const run = promisify(execFile);
const CLI = resolve(import.meta.dirname, '../../daemon/dist/cli.js');

const ROWS = [
  '..kkkk..',
  '.krrrrk.',
  'krwrrrrk',
  'krrrrrrk',
  'kyyyyyyk',
  '.kyggyk.',
  '.kb..bk.',
  'kk....kk',
];
const GAME = { k: 0x222034, r: 0xac3232, w: 0xcbdbfc, y: 0xfbf236, g: 0x6abe30, b: 0x5b6ee1 };
const OTHER = { k: 0x1a1c2c, r: 0xb13e53, w: 0xf4f4f4, y: 0xffcd75, g: 0x38b764, b: 0x3b5dc9 };

// Spawns the built CLI (npm test builds first; run `npm run build` before running this file alone).
describe('dgx-pixels palette extract / process --palette project (built CLI)', () => {
  let dir: string;
  let assets: string;
  const cli = (...args: string[]) => run('node', [CLI, ...args], { timeout: 30_000 });

  beforeEach(async () => {
    expect(existsSync(CLI), `${CLI} is missing: run npm run build`).toBe(true);
    dir = tempDir('dgx-palette-');
    assets = join(dir, 'assets');
    await mkdir(assets);
    await writeFile(join(dir, 'game.png'), await toPng(pixels(ROWS, GAME)));
    await cli('deploy', join(dir, 'game.png'), '--name', 'hero', '--assets', assets);
  });

  it('writes the deployed colours as .hex, one RRGGBB per line, most used first', async () => {
    const { stdout } = await cli(
      'palette',
      'extract',
      '--assets',
      assets,
      '-o',
      join(dir, 'g.hex'),
    );
    expect(stdout).toMatch(/^6 colours of the sprites in .*assets → .*g\.hex \(hex\)\n$/);
    const lines = (await readFile(join(dir, 'g.hex'), 'utf8')).trimEnd().split('\n');
    expect(new Set(lines)).toEqual(
      new Set(Object.values(GAME).map((c) => c.toString(16).padStart(6, '0'))),
    );
    expect(lines[0]).toBe('222034'); // the outline is the commonest colour
  });

  it('writes a GIMP palette for .gpl and refuses other extensions naming both', async () => {
    await cli('palette', 'extract', '--assets', assets, '-o', join(dir, 'game.gpl'));
    const gpl = (await readFile(join(dir, 'game.gpl'), 'utf8')).split('\n');
    expect(gpl.slice(0, 4)).toEqual(['GIMP Palette', 'Name: game', 'Columns: 6', '#']);
    expect(gpl[4]).toMatch(/^ 34 {2}32 {2}52\t#222034$/);
    expect(gpl.filter((l) => /^\s*\d+\s+\d+\s+\d+\t/.test(l))).toHaveLength(6);
    const bad = await cli('palette', 'extract', '--assets', assets, '-o', join(dir, 'p.txt')).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(bad).toMatchObject({ code: 1 });
    expect((bad as { stderr: string }).stderr).toMatch(/"\.txt".*\*\.hex.*\*\.gpl/);
    expect(existsSync(join(dir, 'p.txt'))).toBe(false);
  });

  it('process --palette project uses only the colours of the deployed sprites', async () => {
    await writeFile(join(dir, 'in.png'), await upscale(pixels(ROWS, OTHER), { scale: [12, 12] }));
    const { stdout } = await cli(
      'process',
      join(dir, 'in.png'),
      '-o',
      join(dir, 'out.png'),
      '--palette',
      'project',
      '--assets',
      assets,
    );
    expect(stdout).toMatch(/palette: \d+ colours \(project, 6 colours\)/);
    const used = [...countColours(await fromPng(await readFile(join(dir, 'out.png')))).keys()];
    expect(used.length).toBeGreaterThan(3);
    const game = new Set(Object.values(GAME));
    for (const c of used) expect(game.has(c), c.toString(16)).toBe(true);
  });

  it('says what to do when nothing is deployed', async () => {
    const bad = await cli(
      'palette',
      'extract',
      '--assets',
      join(dir, 'empty'),
      '-o',
      join(dir, 'x.hex'),
    ).catch((e: { code: number; stderr: string }) => e);
    expect((bad as { stderr: string }).stderr).toMatch(/deploy a sprite first/);
  });
});
