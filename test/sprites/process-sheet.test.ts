import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { isDaemonError } from '../../daemon/src/errors.js';
import { processSheet } from '../../daemon/src/sprites/index.js';
import { makeLogicalSprite, shippedPalette } from '../support/pixel-art-sprite.js';
import { at, fromPng, upscale } from '../support/sprite-fixtures.js';

/** A 32×32 logical figure `margin` cells from the frame's edges. */
const frame = (seed: number, margin = 2) =>
  makeLogicalSprite(
    {
      width: 32,
      height: 32,
      palette: shippedPalette('db16'),
      bodyColours: 4,
      outline: true,
      margin,
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
  it('splits 4 frames side by side into a 4×1 spritesheet with Aseprite JSON and a Bevy grid (trim: false keeps whole frames)', async () => {
    const frames = await Promise.all(
      [1, 2, 3, 4].map((s) => upscale(frame(s), { scale: [16, 16], noiseSigma: 2 }, s)),
    );
    const sheet = await processSheet(
      await sideBySide(frames),
      { frames: 4 },
      { name: 'walk', frameDurationMs: 80, trim: false },
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

  it('trims an animation strip to one box around every frame by default, keeping each pixel where it was relative to the others', async () => {
    // a small figure (32×32 frame, 9-cell margin) that bobs: frame k moved k cells right and down
    const frames = await Promise.all(
      [0, 1, 2, 3].map((k) =>
        upscale(frame(1, 9), { scale: [16, 16], noiseSigma: 2, phase: [-16 * k, -16 * k] }, k),
      ),
    );
    const input = await sideBySide(frames);
    const whole = await processSheet(input, { frames: 4 }, { trim: false });
    const trimmed = await processSheet(input, { frames: 4 });
    expect(trimmed.settings.trim).toBe(true);
    const g = trimmed.grid;
    expect(g.frameWidth).toBeLessThan(whole.grid.frameWidth - 10);
    expect(g.frameHeight).toBeLessThan(whole.grid.frameHeight - 10);
    // the same opaque pixels, frame by frame, moved by one offset for all frames
    const a = await fromPng(whole.png);
    const b = await fromPng(trimmed.png);
    const opaque = (img: typeof a, fx: number, fw: number, fh: number) => {
      const out: string[] = [];
      for (let y = 0; y < fh; y++)
        for (let x = 0; x < fw; x++) {
          const p = at(img, fx + x, y);
          if ((p[3] as number) >= 128) out.push(`${x},${y},${p.join(',')}`);
        }
      return out;
    };
    let offset: [number, number] | undefined;
    const firsts = new Set<string>();
    for (let k = 0; k < 4; k++) {
      const full = opaque(
        a,
        k * whole.grid.frameWidth,
        whole.grid.frameWidth,
        whole.grid.frameHeight,
      );
      const cut = opaque(b, k * g.frameWidth, g.frameWidth, g.frameHeight);
      expect(cut.length, `frame ${k}`).toBe(full.length);
      expect(full.length).toBeGreaterThan(20);
      const [fx, fy] = (full[0] as string).split(',').map(Number) as [number, number];
      firsts.add(`${fx},${fy}`);
      const [cx, cy] = (cut[0] as string).split(',').map(Number) as [number, number];
      offset ??= [fx - cx, fy - cy];
      const [dx, dy] = offset;
      const shifted = cut.map((p) => {
        const [x, y, ...rgba] = p.split(',').map(Number) as number[];
        return [(x as number) + dx, (y as number) + dy, ...rgba].join(',');
      });
      expect(shifted, `frame ${k}`).toEqual(full);
    }
    expect(firsts.size, 'the figure moves from frame to frame').toBe(4);
    // an explicit logical size keeps whole frames of that size
    const sized = await processSheet(input, { frames: 4 }, { logicalSize: [32, 32] });
    expect([sized.grid.frameWidth, sized.grid.frameHeight]).toEqual([32, 32]);
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

  it('cuts the margin a model paints around every tile, keeping the tiles opaque; ground drawn edge to edge keeps its size', async () => {
    // a 32×32 logical tile: textured grass, `margin` transparent cells around it (painted
    // light blue by the fixture), like the procedural engine's tileset
    const tile = (seed: number, margin: number) => {
      const data = new Uint8Array(32 * 32 * 4);
      for (let y = margin; y < 32 - margin; y++)
        for (let x = margin; x < 32 - margin; x++) {
          const edge = x === margin || y === margin || x === 31 - margin || y === 31 - margin;
          const speck = (x * 7 + y * 13 + seed) % 5 === 0;
          data.set(
            edge ? [20, 70, 30, 255] : speck ? [40, 110, 50, 255] : [60, 150, 70, 255],
            (y * 32 + x) * 4,
          );
        }
      return { width: 32, height: 32, data };
    };
    const sheetOf = (margin: number) =>
      Promise.all(
        [1, 2, 3].map((s) => upscale(tile(s, margin), { scale: [8, 8], background: 0xc8d8e8 }, s)),
      ).then(sideBySide);
    const framed = await sheetOf(4);
    const cut = await processSheet(framed, { grid: [3, 1] });
    expect([cut.grid.frameWidth, cut.grid.frameHeight]).toEqual([24, 24]);
    const img = await fromPng(cut.png);
    const o = cut.grid.offset;
    for (let k = 0; k < 3; k++)
      for (const [x, y] of [
        [0, 0],
        [23, 0],
        [0, 23],
        [12, 12],
      ] as const) {
        const p = at(img, o + k * (24 + cut.grid.padding) + x, o + y);
        expect(p[3], `tile ${k} (${x},${y}) opaque`).toBe(255);
        expect((p[2] as number) < 150, `tile ${k} (${x},${y}) is grass, not the blue margin`).toBe(
          true,
        );
      }
    const kept = await processSheet(framed, { grid: [3, 1] }, { trim: false });
    expect([kept.grid.frameWidth, kept.grid.frameHeight]).toEqual([32, 32]);
    const edgeToEdge = await processSheet(await sheetOf(0), { grid: [3, 1] });
    expect([edgeToEdge.grid.frameWidth, edgeToEdge.grid.frameHeight]).toEqual([32, 32]);
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
