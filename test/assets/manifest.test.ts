import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { deploySprite } from '../../daemon/src/assets/deploy.js';
import { parseManifest, readManifest } from '../../daemon/src/assets/manifest.js';
import { makePng } from '../support/png.js';
import { tempDir } from '../support/temp-dir.js';

let root: string;
let file: string;
beforeEach(() => {
  root = tempDir('dgx-manifest-');
  file = join(root, 'asset_manifest.json');
});

const entry = (over: Record<string, unknown> = {}) => ({
  name: 'hero',
  path: 'sprites/hero.png',
  deployed_at: '2026-11-25T10:00:00.000Z',
  kind: 'sprite',
  width: 4,
  height: 4,
  hash: 'a'.repeat(64),
  revision: 1,
  ...over,
});

describe('readManifest', () => {
  it('reads a missing file as an empty manifest', async () => {
    const r = await readManifest(file);
    expect(r.existed).toBe(false);
    expect(r.manifest.sprites).toEqual([]);
  });

  it.each([
    [
      'broken JSON',
      '{"sprites": [',
      /^manifest .*asset_manifest\.json: is not valid JSON \(.+\); fix or remove it by hand, or deploy with repair/,
    ],
    [
      'a foreign file',
      '{"assets": []}',
      /is not a dgx-pixels manifest \(expected an object with a "sprites" array\)/,
    ],
    ['a JSON array', '[]', /is not a dgx-pixels manifest/],
    [
      'a bad entry',
      JSON.stringify({
        version: 1,
        updated_at: 'x',
        sprites: [entry(), entry({ name: 'slime', width: -3 })],
      }),
      /entry #1 \("slime"\) is invalid: width: Too small: expected number to be >=1, got -3/,
    ],
    [
      'a repeated name',
      JSON.stringify({ version: 1, updated_at: 'x', sprites: [entry(), entry()] }),
      /entry #1 \("hero"\) repeats the name "hero"/,
    ],
    [
      'a bad top level',
      JSON.stringify({ version: 1, updated_at: 5, sprites: [] }),
      /top level is invalid: updated_at must be a non-empty string, got 5/,
    ],
  ])('refuses %s, naming the file and entry', async (_label, text, message) => {
    writeFileSync(file, text);
    await expect(readManifest(file)).rejects.toMatchObject({
      code: 'MANIFEST_INVALID',
      message: expect.stringMatching(message),
    });
  });

  it('refuses a manifest from a newer version even when asked to repair', async () => {
    writeFileSync(file, JSON.stringify({ version: 7, updated_at: 'x', sprites: [] }));
    await expect(readManifest(file, { repair: true })).rejects.toThrow(
      'has version 7, newer than this dgx-pixels understands (1); upgrade dgx-pixels',
    );
  });

  it('repairs on request: keeps a byte-exact backup and the valid entries', async () => {
    const text = JSON.stringify({
      version: 1,
      updated_at: 'x',
      sprites: [entry(), entry({ name: 'bad', hash: 'nope' })],
    });
    writeFileSync(file, text);
    const r = await readManifest(file, { repair: true });
    expect(r.manifest.sprites.map((e) => e.name)).toEqual(['hero']);
    expect(r.repaired?.problems).toEqual([
      expect.stringContaining('entry #1 ("bad") is invalid: hash'),
    ]);
    expect(readFileSync(r.repaired?.backupPath as string, 'utf8')).toBe(text);
  });
});

describe('deploy into an existing manifest', () => {
  it('never overwrites a broken manifest silently', async () => {
    writeFileSync(file, '{ not json');
    await expect(
      deploySprite({ assetsRoot: root, name: 'hero', png: makePng(4, 4, 1) }),
    ).rejects.toMatchObject({
      code: 'MANIFEST_INVALID',
    });
    expect(readFileSync(file, 'utf8')).toBe('{ not json');
  });

  it('with repair, backs the broken file up and writes a valid manifest', async () => {
    writeFileSync(file, '{ not json');
    const r = await deploySprite({
      assetsRoot: root,
      name: 'hero',
      png: makePng(4, 4, 1),
      repair: true,
    });
    expect(r.revision).toBe(1);
    const backups = readdirSync(root).filter((f) => f.startsWith('asset_manifest.json.broken-'));
    expect(backups).toHaveLength(1);
    expect(readFileSync(join(root, backups[0] as string), 'utf8')).toBe('{ not json');
    expect((await readManifest(file)).manifest.sprites.map((e) => e.name)).toEqual(['hero']);
  });

  it('preserves unknown fields at the top and in entries', async () => {
    writeFileSync(
      file,
      JSON.stringify({
        version: 1,
        updated_at: 'x',
        game: 'Slime Quest',
        sprites: [entry({ name: 'old', tag: 'boss' })],
      }),
    );
    await deploySprite({ assetsRoot: root, name: 'hero', png: makePng(4, 4, 1) });
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    expect(doc.game).toBe('Slime Quest');
    expect(doc.sprites[0]).toMatchObject({ name: 'old', tag: 'boss' });
    expect(doc.sprites[1]).toMatchObject({ name: 'hero' });
  });

  it('keeps an entry unknown fields when the sprite is redeployed', async () => {
    writeFileSync(
      file,
      JSON.stringify({ version: 1, updated_at: 'x', sprites: [entry({ tag: 'boss' })] }),
    );
    const r = await deploySprite({ assetsRoot: root, name: 'hero', png: makePng(4, 4, 2) });
    expect(r.revision).toBe(2);
    expect(JSON.parse(readFileSync(file, 'utf8')).sprites[0].tag).toBe('boss');
  });
});

describe('parseManifest', () => {
  it('fills version and updated_at of a hand-written file', async () => {
    const { manifest } = await parseManifest(JSON.stringify({ sprites: [entry()] }), 'f');
    expect(manifest.version).toBe(1);
    expect(typeof manifest.updated_at).toBe('string');
    expect(existsSync(file)).toBe(false);
  });
});

describe('manifests of the original Python server', () => {
  it('upgrades {name, path, deployed_at} entries from their PNG and keeps them on the next deploy', async () => {
    mkdirSync(join(root, 'sprites'));
    writeFileSync(join(root, 'sprites', 'old.png'), makePng(12, 10, 3));
    writeFileSync(
      file,
      JSON.stringify({
        sprites: [
          { name: 'old', path: 'sprites/old.png', deployed_at: '2025-01-01T12:00:00.123456' },
        ],
      }),
    );
    const { manifest } = await readManifest(file, { assetsRoot: root });
    expect(manifest.sprites[0]).toMatchObject({
      name: 'old',
      kind: 'sprite',
      width: 12,
      height: 10,
      revision: 1,
      deployed_at: '2025-01-01T12:00:00.123456',
    });
    await deploySprite({ assetsRoot: root, name: 'hero', png: makePng(4, 4, 1) });
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    expect(doc.version).toBe(1);
    expect(
      doc.sprites.map((e: { name: string; hash?: string }) => [e.name, e.hash?.length]),
    ).toEqual([
      ['old', 64],
      ['hero', 64],
    ]);
  });

  it('still refuses a legacy entry whose PNG is gone, naming it', async () => {
    writeFileSync(
      file,
      JSON.stringify({ sprites: [{ name: 'gone', path: 'sprites/gone.png', deployed_at: 'x' }] }),
    );
    await expect(readManifest(file, { assetsRoot: root })).rejects.toThrow(
      /entry #0 \("gone"\) is invalid: kind:/,
    );
  });
});
