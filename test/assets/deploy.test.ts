import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { deploySprite } from '../../daemon/src/assets/deploy.js';
import { readManifest } from '../../daemon/src/assets/manifest.js';
import { sha256Hex } from '../../daemon/src/assets/png-info.js';
import { makePng } from '../support/png.js';
import { tempDir } from '../support/temp-dir.js';

let base: string;
let root: string;
let state: string;
beforeEach(() => {
  base = tempDir('dgx-deploy-');
  root = join(base, 'assets');
  state = join(base, 'state');
  mkdirSync(root);
});

const manifestOf = async () => (await readManifest(join(root, 'asset_manifest.json'))).manifest;

describe('deploySprite', () => {
  it('writes the PNG under sprite_subdir and records a full entry', async () => {
    const png = makePng(64, 32, 1);
    const r = await deploySprite({
      assetsRoot: root,
      name: 'hero',
      png,
      stateDir: state,
      source: { prompt: 'a knight', seed: 7, job_id: 'j1' },
    });
    expect(r).toMatchObject({
      deployedPath: join(root, 'sprites', 'hero.png'),
      relativePath: 'sprites/hero.png',
      manifestUpdated: true,
      changed: true,
      revision: 1,
      dryRun: false,
    });
    expect(readFileSync(r.deployedPath).equals(png)).toBe(true);
    const [entry] = (await manifestOf()).sprites;
    expect(entry).toMatchObject({
      name: 'hero',
      kind: 'sprite',
      width: 64,
      height: 32,
      hash: sha256Hex(png),
      revision: 1,
    });
    expect(entry?.source).toEqual({ prompt: 'a knight', seed: 7, job_id: 'j1' });
  });

  it('rewrites nothing for the same bytes and bumps the revision for new ones', async () => {
    await deploySprite({ assetsRoot: root, name: 'hero', png: makePng(8, 8, 1) });
    const manifestPath = join(root, 'asset_manifest.json');
    const before = {
      png: statSync(join(root, 'sprites/hero.png')).ino,
      manifest: statSync(manifestPath).ino,
    };
    const same = await deploySprite({ assetsRoot: root, name: 'hero', png: makePng(8, 8, 1) });
    expect(same).toMatchObject({ changed: false, manifestUpdated: false, revision: 1 });
    expect(statSync(join(root, 'sprites/hero.png')).ino).toBe(before.png);
    expect(statSync(manifestPath).ino).toBe(before.manifest);
    const next = await deploySprite({ assetsRoot: root, name: 'hero', png: makePng(8, 8, 2) });
    expect(next).toMatchObject({ changed: true, manifestUpdated: true, revision: 2 });
    expect((await manifestOf()).sprites).toHaveLength(1);
  });

  it('rewrites a PNG edited on disk without bumping the revision', async () => {
    await deploySprite({ assetsRoot: root, name: 'hero', png: makePng(8, 8, 1) });
    writeFileSync(join(root, 'sprites/hero.png'), makePng(8, 8, 9));
    const r = await deploySprite({ assetsRoot: root, name: 'hero', png: makePng(8, 8, 1) });
    expect(r).toMatchObject({ changed: true, revision: 1 });
    expect(readFileSync(join(root, 'sprites/hero.png')).equals(makePng(8, 8, 1))).toBe(true);
  });

  it('dry run reports the change and touches nothing', async () => {
    const r = await deploySprite({
      assetsRoot: root,
      name: 'hero',
      png: makePng(8, 8, 1),
      dryRun: true,
      stateDir: state,
    });
    expect(r).toMatchObject({ dryRun: true, changed: true, manifestUpdated: true, revision: 1 });
    expect(readdirSync(root)).toEqual([]);
    await deploySprite({ assetsRoot: root, name: 'hero', png: makePng(8, 8, 1) });
    const again = await deploySprite({
      assetsRoot: root,
      name: 'hero',
      png: makePng(8, 8, 2),
      dryRun: true,
    });
    expect(again).toMatchObject({ dryRun: true, changed: true, revision: 2 });
    expect((await manifestOf()).sprites[0]?.revision).toBe(1);
  });

  it('writes a sheet with its grid and atlas JSON', async () => {
    const grid = { columns: 4, rows: 1, frame_width: 16, frame_height: 16 };
    const r = await deploySprite({
      assetsRoot: root,
      name: 'walk',
      png: makePng(64, 16, 3),
      grid,
      atlasJson: { frames: 4 },
    });
    expect(r.entry).toMatchObject({ kind: 'sheet', grid, atlas: 'sprites/walk.json' });
    expect(JSON.parse(readFileSync(join(root, 'sprites/walk.json'), 'utf8'))).toEqual({
      frames: 4,
    });
  });

  it('follows sprite_subdir, filename_pattern and manifest_file', async () => {
    const layout = {
      spriteSubdir: 'gen/art',
      filenamePattern: 'px_{sprite_name}.png',
      manifestFile: 'sprites.json',
    };
    const r = await deploySprite({
      assetsRoot: root,
      name: 'enemies/slime',
      png: makePng(8, 8, 1),
      layout,
    });
    expect(r.relativePath).toBe('gen/art/px_enemies/slime.png');
    expect(JSON.parse(readFileSync(join(root, 'sprites.json'), 'utf8')).sprites[0].path).toBe(
      'gen/art/px_enemies/slime.png',
    );
  });

  it('keeps temp files outside the assets tree and logs every deploy', async () => {
    await deploySprite({ assetsRoot: root, name: 'a', png: makePng(8, 8, 1), stateDir: state });
    await deploySprite({ assetsRoot: root, name: 'a', png: makePng(8, 8, 1), stateDir: state });
    expect(readdirSync(root).sort()).toEqual(['asset_manifest.json', 'sprites']);
    expect(readdirSync(join(state, 'tmp'))).toEqual([]);
    const lines = readFileSync(join(state, 'deploy-log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.name, l.changed, l.revision])).toEqual([
      ['a', true, 1],
      ['a', false, 1],
    ]);
  });

  it('records all of 40 concurrent deploys from one process (group commit)', async () => {
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        deploySprite({ assetsRoot: root, name: `s${i}`, png: makePng(8, 8, i) }),
      ),
    );
    expect(results.every((r) => r.revision === 1)).toBe(true);
    expect((await manifestOf()).sprites).toHaveLength(40);
  });

  it.each([
    [
      'not a PNG',
      Buffer.from('GIF89a....................'),
      /png for "hero" is not a PNG \(26 bytes, starts with 474946383961/,
    ],
    ['empty', Buffer.alloc(0), /is not a PNG \(0 bytes, starts with nothing\)/],
  ])('refuses %s', async (_l, png, message) => {
    await expect(deploySprite({ assetsRoot: root, name: 'hero', png })).rejects.toMatchObject({
      code: 'BAD_IMAGE',
      message: expect.stringMatching(message),
    });
  });

  it('refuses a sheet without a grid', async () => {
    await expect(
      deploySprite({ assetsRoot: root, name: 'walk', png: makePng(8, 8, 1), kind: 'sheet' }),
    ).rejects.toThrow(
      'deploying "walk" as a sheet needs grid {columns, rows, frame_width, frame_height}',
    );
  });
});

describe('deploySprite racing another writer', () => {
  // deploy A (same bytes, new metadata) ── lock-free look: file already right, no temp written
  // another writer ─────────────────────── holds the lock, replaces the PNG with other bytes
  // deploy A ───────────────────────────── gets the lock: must write its bytes, not just the entry
  it('writes the PNG under the lock when it changed after the lock-free look', async () => {
    const { withManifestLock } = await import('../../daemon/src/assets/manifest-lock.js');
    const mine = makePng(16, 16, 1);
    const theirs = makePng(16, 16, 2);
    await deploySprite({ assetsRoot: root, name: 'hero', png: mine, stateDir: state });
    const manifestPath = join(root, 'asset_manifest.json');
    const pngPath = join(root, 'sprites', 'hero.png');
    let pending: Promise<unknown> | undefined;
    await withManifestLock(manifestPath, async () => {
      pending = deploySprite({
        assetsRoot: root,
        name: 'hero',
        png: mine,
        stateDir: state,
        source: { prompt: 'new metadata', seed: 3 },
      });
      // let the deploy finish its lock-free look and queue for the lock
      await new Promise((r) => setTimeout(r, 300));
      writeFileSync(pngPath, theirs);
    });
    await pending;
    const [entry] = (await manifestOf()).sprites;
    expect(entry?.hash).toBe(sha256Hex(mine));
    expect(sha256Hex(readFileSync(pngPath))).toBe(entry?.hash);
  });
});
