import { describe, expect, it } from 'vitest';
import { isDaemonError } from '../../daemon/src/errors.js';
import { PIPELINE_VERSION, processSprite } from '../../daemon/src/sprites/index.js';
import { at, fromPng, HERO, upscale } from '../support/sprite-fixtures.js';

describe('processSprite', () => {
  it('recovers a 12×10 sprite drawn at 21.3 px per pixel on white, with real transparency', async () => {
    const input = await upscale(HERO, { scale: [21.3, 21.3], blurSigma: 0.8, noiseSigma: 3 });
    const out = await processSprite(input);
    expect([out.width, out.height]).toEqual([12, 10]);
    expect(out.detected.logicalSize).toEqual([12, 10]);
    expect(out.detected.cellSize[0]).toBeCloseTo(21.3, 1);
    expect(out.detected.background).toMatch(/^#f[ef]f[ef]f[ef]$/);
    expect(out.pipelineVersion).toBe(PIPELINE_VERSION);
    expect(out.paletteSize).toBe(4);
    const img = await fromPng(out.png);
    expect(at(img, 0, 0)[3]).toBe(0);
    expect(
      at(img, 4, 3)
        .slice(0, 3)
        .every((c) => c >= 250),
    ).toBe(true); // the white eye stays opaque
    expect(at(img, 4, 3)[3]).toBe(255);
    expect(Object.keys(out.timingsMs ?? {})).toEqual(
      expect.arrayContaining(['decode', 'grid', 'downscale', 'palette', 'encode']),
    );
  });

  it('applies style and overrides: fixed palette, outline, trim, canvas', async () => {
    const input = await upscale(HERO, { scale: [16, 16] });
    const out = await processSprite(input, {
      style: 'retro',
      outline: '#ff004d',
      trim: true,
      canvas: [16, 16],
      pivot: 'bottom',
    });
    expect([out.width, out.height]).toEqual([16, 16]);
    expect(out.settings).toMatchObject({
      style: 'retro',
      palette: 'pico-8',
      outline: '#ff004d',
      trim: true,
    });
    const pico = [
      '#000000',
      '#1d2b53',
      '#7e2553',
      '#008751',
      '#ab5236',
      '#5f574f',
      '#c2c3c7',
      '#fff1e8',
      '#ff004d',
      '#ffa300',
      '#ffec27',
      '#00e436',
      '#29adff',
      '#83769c',
      '#ff77a8',
      '#ffccaa',
    ];
    for (const c of out.palette) expect(pico).toContain(c);
    const img = await fromPng(out.png);
    expect(at(img, 5, 15)[3]).toBe(255); // bottom pivot: the feet (+ outline) touch the bottom edge
  });

  it('uses an explicit logical size', async () => {
    const out = await processSprite(await upscale(HERO, { scale: [20, 20] }), {
      logicalSize: [24, 20],
    });
    expect([out.width, out.height, out.detected.source]).toEqual([24, 20, 'explicit']);
  });

  it('rejects a non-image with BAD_IMAGE', async () => {
    const err = await processSprite(Buffer.from('<html>502 Bad Gateway</html>')).catch(
      (e: unknown) => e,
    );
    expect(isDaemonError(err, 'BAD_IMAGE')).toBe(true);
  });
});
