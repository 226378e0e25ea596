import { describe, expect, it } from 'vitest';
import { paletteOfImages } from '../../daemon/src/sprites/project-palette.js';
import { countColours, type RawImage } from '../../daemon/src/sprites/raw-image.js';

/** A 64×64 gradient: 4096 distinct opaque colours, the top-left pixel transparent. */
function gradient(): RawImage {
  const data = new Uint8Array(64 * 64 * 4);
  for (let y = 0; y < 64; y++)
    for (let x = 0; x < 64; x++) data.set([x * 4, y * 4, (x * y) & 255, 255], (y * 64 + x) * 4);
  data[3] = 0;
  return { data, width: 64, height: 64 };
}

describe('paletteOfImages (palette: "project")', () => {
  it('keeps every colour, most used first, when there are few', () => {
    const img: RawImage = { data: new Uint8Array(3 * 4), width: 3, height: 1 };
    img.data.set([10, 20, 30, 255, 10, 20, 30, 255, 200, 0, 0, 255]);
    expect(paletteOfImages([img])).toEqual([0x0a141e, 0xc80000]);
  });

  it('caps a many-coloured game at 256 colours, each one a colour the sprites really have', () => {
    const img = gradient();
    const real = new Set(countColours(img).keys());
    expect(real.size).toBe(4095);
    const palette = paletteOfImages([img]);
    expect(palette.length).toBeLessThanOrEqual(256);
    expect(palette.length).toBeGreaterThan(200);
    expect(new Set(palette).size).toBe(palette.length);
    for (const c of palette) expect(real.has(c), c.toString(16)).toBe(true);
  });
});
