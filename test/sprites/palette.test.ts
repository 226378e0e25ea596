import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isDaemonError } from '../../daemon/src/errors.js';
import { mapToPalette } from '../../daemon/src/sprites/palette-map.js';
import { reducePalette } from '../../daemon/src/sprites/palette-reduce.js';
import { listPalettes, parseHexList, resolvePalette } from '../../daemon/src/sprites/palettes.js';
import { countColours } from '../../daemon/src/sprites/raw-image.js';
import { at, pixels, toPng } from '../support/sprite-fixtures.js';
import { tempDir } from '../support/temp-dir.js';

describe('reducePalette', () => {
  it('merges near-duplicate shades into one colour each (their weighted mean)', () => {
    const img = pixels(['aabbcX', 'abcaYZ'], {
      a: 0xc83232,
      b: 0xca3331,
      c: 0xc63434,
      X: 0x2050d0,
      Y: 0x2252ce,
      Z: 0x1e4ed2,
    });
    const palette = reducePalette([img], { maxColours: 32 });
    expect(palette).toHaveLength(2);
    expect(palette[0]?.toString(16)).toMatch(/^c[78]33/);
  });

  it('caps the palette at maxColours by merging the closest colours', () => {
    const img = pixels(['abcd'], { a: 0x000000, b: 0x101010, c: 0xffffff, d: 0xeeeeee });
    const palette = reducePalette([img], { maxColours: 2, mergeDistance: 1 });
    expect(palette).toHaveLength(2);
  });
});

describe('mapToPalette', () => {
  it('maps every opaque pixel to its nearest palette colour and keeps transparency', () => {
    const img = pixels(['ab.'], { a: 0xf00010, b: 0x1010e0 });
    const out = mapToPalette(img, [0xff0000, 0x0000ff]);
    expect([at(out, 0, 0), at(out, 1, 0), at(out, 2, 0)]).toEqual([
      [255, 0, 0, 255],
      [0, 0, 255, 255],
      [0, 0, 0, 0],
    ]);
  });

  it('ordered dithering turns a flat in-between colour into a mix of two entries', () => {
    const img = pixels(['gggg', 'gggg', 'gggg', 'gggg'], { g: 0x7f7f7f });
    expect(countColours(mapToPalette(img, [0x707070, 0x909090])).size).toBe(1);
    expect(countColours(mapToPalette(img, [0x707070, 0x909090], { dither: 'ordered' })).size).toBe(
      2,
    );
  });
});

describe('palettes', () => {
  it('ships PICO-8, NES, Game Boy, DB16, DB32 and Endesga 32', () => {
    const sizes = Object.fromEntries(listPalettes().map((p) => [p.name, p.colours.length]));
    expect(sizes).toEqual({
      db16: 16,
      db32: 32,
      'endesga-32': 32,
      gameboy: 4,
      nes: 55,
      'pico-8': 16,
    });
  });

  it('accepts a #rrggbb list, a .hex file and a palette image', async () => {
    expect(await resolvePalette('#000000, #ffffff')).toEqual([0, 0xffffff]);
    expect(await resolvePalette(['#ff0000'])).toEqual([0xff0000]);
    const dir = tempDir('pal-');
    await writeFile(join(dir, 'p.hex'), '112233\n445566\n');
    expect(await resolvePalette(join(dir, 'p.hex'))).toEqual([0x112233, 0x445566]);
    await writeFile(
      join(dir, 'p.png'),
      await toPng(pixels(['abba'], { a: 0x010203, b: 0x0a0b0c })),
    );
    expect((await resolvePalette(join(dir, 'p.png'))).sort((a, b) => a - b)).toEqual([
      0x010203, 0x0a0b0c,
    ]);
  });

  it.each([
    [
      'unknown name',
      'pico8',
      /Unknown palette "pico8"; expected one of: db16, db32, endesga-32, gameboy, nes, pico-8/,
    ],
    [
      'bad hex',
      '#12345g,#000000',
      /Invalid palette colour "#12345g" in the palette list: expected #rrggbb/,
    ],
    ['missing file', '/nonexistent/p.hex', /Cannot read palette file \/nonexistent\/p.hex/],
  ])('rejects an %s with VALIDATION', async (_n, spec, message) => {
    const err = await resolvePalette(spec).catch((e: unknown) => e);
    expect(isDaemonError(err, 'VALIDATION')).toBe(true);
    expect((err as Error).message).toMatch(message);
  });

  it('parses .hex text with comments', () => {
    expect(parseHexList('; comment\nffffff\n#000000\n', 'x')).toEqual([0xffffff, 0]);
  });
});
