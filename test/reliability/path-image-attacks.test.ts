import { mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDaemonError } from '../../daemon/src/errors.js';
import { processSprite } from '../../daemon/src/sprites/index.js';
import { makePng } from '../support/png.js';
import { type Stack, startStack, text } from '../support/reliability-stack.js';
import { recordFigure } from './figures.js';

// Path traversal and symlink attacks against deploy_to_bevy and rebuild_sprites, and hostile
// images (decompression bombs, truncated PNGs, non-PNGs) through deploy and the sprite pipeline.
// Every attack must be refused with a clear error and nothing may be written outside assets/.

const SUITE = 'hostile input';
let stack: Stack;
let outside: string;
let good: string;

beforeAll(async () => {
  stack = await startStack({ workers: 1 });
  outside = join(stack.dir, 'outside');
  await mkdir(outside);
  await writeFile(join(outside, 'victim.png'), 'precious');
  good = join(stack.dir, 'good.png');
  await writeFile(good, makePng(16, 16));
});
afterAll(async () => {
  await stack.close();
});

async function outsideUntouched() {
  expect((await readdir(outside)).sort()).toEqual(['victim.png']);
  expect(await readFile(join(outside, 'victim.png'), 'utf8')).toBe('precious');
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

/** A valid 1-bit grayscale PNG of side² pixels that compresses to a few KB (a bomb). */
function bomb(side: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr[8] = 1; // bit depth
  ihdr[9] = 0; // grayscale
  const raw = Buffer.alloc(side * (1 + Math.ceil(side / 8)));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const TRAVERSAL_NAMES = [
  '../evil',
  '../../outside/victim',
  'a/../../evil',
  '/etc/evil',
  '/tmp/evil',
  'C:/evil',
  'a\\..\\..\\evil',
  '..',
  '.',
  'a/./b',
  'a//b',
  '%2e%2e/evil',
  'evil\u0000.png',
  'con',
  'a/b/c/d/e',
  'x'.repeat(300),
  '../outside/victim',
];

describe('path traversal and symlinks', () => {
  it.each(TRAVERSAL_NAMES)('deploy_to_bevy refuses sprite_name %j', async (name) => {
    const r = await stack.call('deploy_to_bevy', { sprite_path: good, sprite_name: name });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/Sprite name must be|rejected|not allowed/);
    await outsideUntouched();
  });

  it.each(['/', '/etc', '/tmp', '..', '../outside', 'OUTSIDE', 'ASSETS/../outside'])(
    'deploy_to_bevy refuses bevy_assets_dir %s outside the allowed roots',
    async (d) => {
      const dirArg = d.replace('OUTSIDE', outside).replace('ASSETS', stack.assets);
      const r = await stack.call('deploy_to_bevy', {
        sprite_path: good,
        sprite_name: 'hero',
        bevy_assets_dir: dirArg,
      });
      expect(r.isError, text(r)).toBe(true);
      expect(text(r)).toMatch(/outside|not allowed|allowed_roots|does not exist/i);
      await outsideUntouched();
    },
  );

  it('refuses to follow a symlinked sprites folder, sub-folder or manifest out of assets/', async () => {
    const sprites = join(stack.assets, 'sprites');
    const attacks: [string, () => Promise<void>, string][] = [
      ['sprites/ → outside', () => symlink(outside, sprites), 'hero'],
      [
        'sprites/enemies/ → outside',
        async () => {
          await mkdir(sprites);
          await symlink(outside, join(sprites, 'enemies'));
        },
        'enemies/slime',
      ],
      [
        'asset_manifest.json → a file outside',
        async () => {
          await symlink(join(outside, 'victim.png'), join(stack.assets, 'asset_manifest.json'));
        },
        'plain',
      ],
    ];
    for (const [label, setup, name] of attacks) {
      await rm(sprites, { recursive: true, force: true });
      await rm(join(stack.assets, 'asset_manifest.json'), { force: true });
      await setup();
      const r = await stack.call('deploy_to_bevy', { sprite_path: good, sprite_name: name });
      expect(r.isError, `${label}: ${text(r)}`).toBe(true);
      expect(text(r), label).toMatch(/outside|symlink|leaves|not a regular|link/i);
      await outsideUntouched();
    }
    await rm(sprites, { recursive: true, force: true });
    await rm(join(stack.assets, 'asset_manifest.json'), { force: true });
    // a symlinked PNG inside assets/sprites: a deploy replaces the link, never writes through it
    await mkdir(sprites);
    await symlink(join(outside, 'victim.png'), join(sprites, 'victim.png'));
    const r = await stack.call('deploy_to_bevy', { sprite_path: good, sprite_name: 'victim' });
    await outsideUntouched();
    await rm(sprites, { recursive: true, force: true });
    await rm(join(stack.assets, 'asset_manifest.json'), { force: true });
    recordFigure({
      suite: SUITE,
      name: 'path traversal + symlink attacks on deploy_to_bevy',
      value: TRAVERSAL_NAMES.length + 7 + attacks.length + 1,
      note: `all refused or contained (symlinked PNG: ${r.isError ? 'refused' : 'link replaced'}); nothing written outside assets/`,
    });
  });

  it('rebuild_sprites refuses recipes whose names leave assets/', async () => {
    const recipe = join(stack.dir, 'sprites.yaml');
    let refused = 0;
    for (const name of ['../evil', '/etc/evil', 'a/../../evil', '..']) {
      await writeFile(
        recipe,
        `version: 1\nsprites:\n  - name: "${name}"\n    prompt: "a small slime"\n`,
      );
      const r = await stack.call('rebuild_sprites', { recipe_path: recipe });
      const t = text(r);
      const failedEntries = /"failed":\[\{/.test(t) || r.isError;
      expect(failedEntries, t).toBeTruthy();
      await outsideUntouched();
      refused++;
    }
    recordFigure({
      suite: SUITE,
      name: 'path traversal in rebuild recipes',
      value: refused,
      note: 'each refused; nothing written outside assets/',
    });
  });
});

describe('hostile images', () => {
  const cases: [string, () => Buffer][] = [
    ['decompression bomb 20000×20000 (1-bit, ~6 KB)', () => bomb(20_000)],
    ['bomb 9000×9000 (under sharp’s own limit)', () => bomb(9000)],
    ['truncated PNG (half the bytes)', () => makePng(64, 64).subarray(0, 60)],
    ['PNG without IEND', () => makePng(64, 64).subarray(0, makePng(64, 64).length - 12)],
    ['empty file', () => Buffer.alloc(0)],
    ['text', () => Buffer.from('this is not an image')],
    ['GIF header', () => Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1')],
    [
      'SVG with an external entity',
      () =>
        Buffer.from(
          '<?xml version="1.0"?><!DOCTYPE s [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg xmlns="http://www.w3.org/2000/svg" width="9000" height="9000"><text>&x;</text></svg>',
        ),
    ],
  ];

  it.each(cases.filter(([l]) => !l.includes('IEND')))(
    'the sprite pipeline rejects %s with BAD_IMAGE',
    async (_label, make) => {
      const rssBefore = process.memoryUsage().rss;
      const t0 = performance.now();
      const err = await processSprite(make(), { style: 'pixel_art' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isDaemonError(err, 'BAD_IMAGE'), String(err)).toBe(true);
      expect(String((err as Error).message)).toMatch(/^Cannot decode image/);
      expect(performance.now() - t0).toBeLessThan(10_000);
      expect(process.memoryUsage().rss - rssBefore).toBeLessThan(512 * 1048576);
    },
  );

  it.each(cases)('deploy_to_bevy refuses %s and leaves no file', async (label, make) => {
    const src = join(stack.dir, 'hostile.img');
    await writeFile(src, make());
    const name = `hostile_${cases.findIndex(([l]) => l === label)}`;
    const r = await stack.call('deploy_to_bevy', { sprite_path: src, sprite_name: name });
    recordFigure({
      suite: SUITE,
      name: `deploy_to_bevy with ${label}`,
      value: r.isError ? 'refused' : 'DEPLOYED',
      note: text(r).slice(0, 110),
    });
    expect(r.isError, `${label} was deployed into the game: ${text(r)}`).toBe(true);
    const sprites = await readdir(join(stack.assets, 'sprites')).catch(() => [] as string[]);
    expect(sprites).not.toContain(`${name}.png`);
  });
});
