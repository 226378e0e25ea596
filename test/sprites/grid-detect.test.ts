import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../../daemon/src/sprites/decode.js';
import { detectGrid } from '../../daemon/src/sprites/grid-detect.js';
import { makeCorpus } from '../support/pixel-art-corpus.js';
import { makeLogicalSprite, shippedPalette } from '../support/pixel-art-sprite.js';
import { toPng, upscale } from '../support/sprite-fixtures.js';

const sprite = (w: number, h: number, seed = 3) =>
  makeLogicalSprite(
    {
      width: w,
      height: h,
      palette: shippedPalette('db32'),
      bodyColours: 5,
      outline: true,
      margin: 2,
      checker: 0,
    },
    seed,
  );

describe('detectGrid', () => {
  it.each([
    [64, 1024 / 64, [0, 0]],
    [48, 1024 / 48, [0.3, -0.2]],
    [72, 1000 / 72, [-0.4, 0.25]],
    [24, 1024 / 24, [0.1, 0.1]],
  ] as const)(
    'finds a %i-cell grid of %f px with a sub-pixel phase',
    async (cells, scale, phase) => {
      const png = await upscale(sprite(cells, cells), {
        scale: [scale, scale],
        phase: [phase[0], phase[1]],
        blurSigma: 0.7,
        noiseSigma: 3,
      });
      const grid = detectGrid(await decodeImage(png));
      expect(grid.source).toBe('detected');
      expect([grid.x.cells, grid.y.cells]).toEqual([cells, cells]);
      expect(Math.abs(grid.x.period - scale) / scale).toBeLessThan(0.003);
      expect(Math.abs(grid.y.period - scale) / scale).toBeLessThan(0.003);
      expect(grid.confidence).toBeGreaterThan(0.5);
    },
  );

  it('detects each axis separately for a non-square logical size', async () => {
    const png = await upscale(sprite(40, 24), { scale: [20.5, 20.5] });
    const grid = detectGrid(await decodeImage(png));
    expect([grid.x.cells, grid.y.cells]).toEqual([40, 24]);
  });

  it('uses an explicit logical size instead of detecting', async () => {
    const png = await upscale(sprite(32, 32), { scale: [16, 16] });
    const grid = detectGrid(await decodeImage(png), { logicalSize: [32, 32] });
    expect(grid.source).toBe('explicit');
    expect([grid.x.period, grid.y.period, grid.x.cells, grid.y.cells]).toEqual([16, 16, 32, 32]);
    expect(grid.confidence).toBeGreaterThan(0.9);
  });

  it('takes an image without a grid (already 1:1 or a flat fill) as 1:1', async () => {
    const flat = { data: new Uint8Array(50 * 40 * 4).fill(200), width: 50, height: 40 };
    const grid = detectGrid(flat);
    expect(grid.source).toBe('identity');
    expect([grid.x.cells, grid.y.cells, grid.confidence]).toEqual([50, 40, 0]);
  });

  it.each([0, 6, 30, 54])(
    'leaves pixel art that is already 1:1 alone (corpus truth %i)',
    async (k) => {
      const t = makeCorpus(72)[k]?.truth as NonNullable<
        ReturnType<typeof makeCorpus>[number]
      >['truth'];
      const d = Uint8Array.from(t.data);
      for (let i = 0; i < t.width * t.height; i++)
        if (d[i * 4 + 3] === 0) d.set([255, 255, 255, 255], i * 4);
      const grid = detectGrid({ data: d, width: t.width, height: t.height });
      expect(grid.source).toBe('identity');
      expect([grid.x.cells, grid.y.cells]).toEqual([t.width, t.height]);
    },
  );

  it('finds a small integer nearest-neighbour upscale (32×32 at 3×)', async () => {
    const png = await sharp(await toPng(sprite(32, 32)))
      .resize(96, 96, { kernel: 'nearest' })
      .png()
      .toBuffer();
    const grid = detectGrid(await decodeImage(png));
    expect([grid.source, grid.x.cells, grid.y.cells]).toEqual(['detected', 32, 32]);
  });
  it('counts 128 cells of 8 px under slow drift when the sprite covers a corner of the canvas', async () => {
    // Drift of 1.4 px bends the grid, so the period measured over a 44-cell sprite
    // alone is 0.5–1 % off: one cell too many or too few across 1024 px (21 of
    // these 24 axes before the piecewise whole-canvas check).
    const s = sprite(44, 44);
    const wrong: string[] = [];
    for (const [ox, oy] of [
      [10, 70],
      [70, 10],
      [20, 20],
      [75, 75],
    ] as const) {
      const t = { width: 128, height: 128, data: new Uint8Array(128 * 128 * 4) };
      for (let y = 0; y < 44; y++)
        t.data.set(s.data.subarray(y * 44 * 4, (y + 1) * 44 * 4), ((y + oy) * 128 + ox) * 4);
      for (const seed of [1, 2, 3]) {
        const png = await upscale(
          t,
          { scale: [8, 8], drift: 1.4, blurSigma: 0.6, noiseSigma: 3 },
          seed,
        );
        const grid = detectGrid(await decodeImage(png));
        if (grid.x.cells !== 128 || grid.y.cells !== 128)
          wrong.push(`at ${ox},${oy} seed ${seed}: ${grid.x.cells}×${grid.y.cells}`);
      }
    }
    expect(wrong).toEqual([]);
  }, 30_000);
});
