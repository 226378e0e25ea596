import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { isDaemonError } from '../../daemon/src/errors.js';
import { processSheet } from '../../daemon/src/sprites/index.js';
import { makeLogicalSprite, shippedPalette } from '../support/pixel-art-sprite.js';
import { at, fromPng, upscale } from '../support/sprite-fixtures.js';

const frame = (seed: number) =>
  makeLogicalSprite(
    {
      width: 32,
      height: 32,
      palette: shippedPalette('db16'),
      bodyColours: 4,
      outline: true,
      margin: 2,
      checker: 0,
    },
    seed,
  );

async function sideBySide(images: Buffer[]): Promise<Buffer> {
  const metas = await Promise.all(images.map((i) => sharp(i).metadata()));
  const w = metas[0]?.width ?? 0;
  const h = metas[0]?.height ?? 0;
  return sharp({
    create: { width: w * images.length, height: h, channels: 3, background: '#ffffff' },
  })
    .composite(images.map((input, i) => ({ input, left: i * w, top: 0 })))
    .png()
    .toBuffer();
}

describe('processSheet', () => {
  it('splits 4 frames side by side into a 4×1 spritesheet with Aseprite JSON and a Bevy grid', async () => {
    const frames = await Promise.all(
      [1, 2, 3, 4].map((s) => upscale(frame(s), { scale: [16, 16], noiseSigma: 2 }, s)),
    );
    const sheet = await processSheet(
      await sideBySide(frames),
      { frames: 4 },
      { name: 'walk', frameDurationMs: 80 },
    );
    expect(sheet.kind).toBe('sheet');
    expect([sheet.width, sheet.height]).toEqual([128, 32]);
    expect(sheet.grid).toEqual({
      columns: 4,
      rows: 1,
      frameWidth: 32,
      frameHeight: 32,
      padding: 0,
      offset: 0,
    });
    expect(Object.keys(sheet.json.frames)).toEqual([
      'walk 0.aseprite',
      'walk 1.aseprite',
      'walk 2.aseprite',
      'walk 3.aseprite',
    ]);
    expect(sheet.json.frames['walk 2.aseprite']).toMatchObject({
      frame: { x: 64, y: 0, w: 32, h: 32 },
      duration: 80,
    });
    expect(sheet.json.meta).toMatchObject({
      image: 'walk.png',
      size: { w: 128, h: 32 },
      frameTags: [{ name: 'walk', from: 0, to: 3, direction: 'forward' }],
    });
    expect(sheet.frames.every((f) => f.logicalSize[0] === 32)).toBe(true);
  });

  it('builds a tileset with 1-px extrusion and spacing, keeping the tiles opaque', async () => {
    const tiles = await Promise.all(
      [5, 6].map((s) => upscale(frame(s), { scale: [16, 16], background: 0x3a7d44 }, s)),
    );
    const sheet = await processSheet(await sideBySide(tiles), { grid: [2, 1] }, { name: 'ground' });
    expect(sheet.kind).toBe('tileset');
    expect(sheet.grid).toEqual({
      columns: 2,
      rows: 1,
      frameWidth: 32,
      frameHeight: 32,
      padding: 4,
      offset: 1,
    });
    expect([sheet.width, sheet.height]).toEqual([2 + 32 * 2 + 4, 34]);
    const img = await fromPng(sheet.png);
    expect(at(img, 1, 1)[3]).toBe(255); // background kept: tiles are opaque
    expect(at(img, 0, 5)).toEqual(at(img, 1, 5)); // extruded edge = edge pixel
    expect(at(img, 33, 5)).toEqual(at(img, 32, 5));
    expect(at(img, 34, 5)[3]).toBe(0); // spacing stays empty
    expect(sheet.json.meta.frameTags).toEqual([]);
  });

  it('rejects a split larger than the image', async () => {
    const img = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#000' } })
      .png()
      .toBuffer();
    const err = await processSheet(img, { frames: 8 }).catch((e: unknown) => e);
    expect(isDaemonError(err, 'BAD_IMAGE')).toBe(true);
    expect((err as Error).message).toMatch(/^Cannot split a 4×4 image into 8×1 cells/);
  });
});
