import { describe, expect, it } from 'vitest';
import { MIN_HOLE_CELLS, removeBackground } from '../../daemon/src/sprites/background.js';
import { at, pixels } from '../support/sprite-fixtures.js';

// W = white background; the sprite has a white "eye" enclosed by its body.
const SPRITE = pixels(['WWWWWWW', 'WkkkkkW', 'WkWrrkW', 'WkrrrkW', 'WkkkkkW', 'WWWWWWV'], {
  W: 0xffffff,
  V: 0xfcfdfb, // noise in the background, within tolerance
  k: 0x000000,
  r: 0xcc2222,
});

describe('removeBackground', () => {
  it('flood-fills the border background and keeps enclosed background-coloured pixels', () => {
    const { image, colour, removedPixels } = removeBackground(SPRITE, { mode: 'flood' });
    expect(colour).toBe('#ffffff');
    expect(removedPixels).toBe(22); // the whole border ring
    expect(at(image, 0, 0)[3]).toBe(0);
    expect(at(image, 6, 5)[3]).toBe(0);
    expect(at(image, 2, 2)).toEqual([255, 255, 255, 255]); // the eye stays
    expect(at(image, 1, 1)).toEqual([0, 0, 0, 255]);
  });

  it("'key' removes the colour everywhere, the eye too", () => {
    const { image } = removeBackground(SPRITE, { mode: 'key', colour: 0xffffff });
    expect(at(image, 2, 2)[3]).toBe(0);
  });

  it("'none' returns the image unchanged", () => {
    const { image, colour } = removeBackground(SPRITE, { mode: 'none' });
    expect(image).toBe(SPRITE);
    expect(colour).toBeNull();
  });

  it('follows a gently shaded background step by step', () => {
    const img = pixels(['abcdefg', 'abckefg', 'abcdefg'], {
      a: 0x808080,
      b: 0x848484,
      c: 0x888888,
      d: 0x8c8c8c,
      e: 0x909090,
      f: 0x949494,
      g: 0x989898,
      k: 0x000000,
    });
    const { image } = removeBackground(img, { mode: 'flood', colour: 0x808080 });
    expect(at(image, 6, 0)[3]).toBe(0);
    expect(at(image, 3, 1)[3]).toBe(255);
  });

  it('removes nothing when no colour dominates the border (the sprite fills the canvas)', () => {
    const img = pixels(['rgbyc', 'mkkkr', 'bkkkg', 'ykkkm', 'cgbyr'], {
      r: 0xff0000,
      g: 0x00ff00,
      b: 0x0000ff,
      y: 0xffff00,
      c: 0x00ffff,
      m: 0xff00ff,
      k: 0,
    });
    expect(removeBackground(img, { mode: 'flood' }).removedPixels).toBe(0);
  });
  it('clears an enclosed hole of background (a ring, the gap between tiles) but keeps a small eye', () => {
    // A ring around a 3×3 hole of background, and a 1-px white eye in a solid block.
    const img = pixels(
      [
        'WWWWWWWWWWWWW',
        'WkkkkkWWkkkkW',
        'WkVWVkWWkrrkW',
        'WkWWWkWWkWrkW',
        'WkWVWkWWkrrkW',
        'WkkkkkWWkkkkW',
        'WWWWWWWWWWWWV',
      ],
      { W: 0xffffff, V: 0xfdfefd, k: 0x000000, r: 0xcc2222 },
    );
    expect(9).toBeGreaterThanOrEqual(MIN_HOLE_CELLS);
    const { image } = removeBackground(img, { mode: 'flood' });
    for (const [x, y] of [
      [2, 2],
      [3, 3],
      [4, 4],
    ])
      expect(at(image, x as number, y as number)[3]).toBe(0);
    expect(at(image, 9, 3)).toEqual([255, 255, 255, 255]); // the eye stays
    expect(at(image, 1, 1)).toEqual([0, 0, 0, 255]);
  });

  it('keeps an enclosed area of a close but different shade (its mean is off the background)', () => {
    const img = pixels(
      ['WWWWWWW', 'WkkkkkW', 'WkSSSkW', 'WkSSSkW', 'WkSSSkW', 'WkkkkkW', 'WWWWWWV'],
      { W: 0xffffff, V: 0xfdfefd, S: 0xf8f8f8, k: 0x000000 },
    );
    const { image } = removeBackground(img, { mode: 'flood', tolerance: 8 });
    expect(at(image, 3, 3)).toEqual([248, 248, 248, 255]);
  });

  it('takes its tolerance from the border noise: a near-background shade touching the border stays', () => {
    // The background is clean (ΔE < 1), so a sprite shade ΔE ≈ 5 from it is sprite,
    // even though the configured cap (8) would have let the flood take it.
    const img = pixels(['WWWWWWWW', 'WSSkkkWW', 'WSSkrkWW', 'WWWkkkWW', 'WWWWWWWV'], {
      W: 0xffffff,
      V: 0xfdfefd,
      S: 0xebebeb,
      k: 0x000000,
      r: 0xcc2222,
    });
    const { image } = removeBackground(img, { mode: 'flood', tolerance: 8 });
    expect(at(image, 1, 1)).toEqual([235, 235, 235, 255]);
    expect(at(image, 0, 0)[3]).toBe(0);
  });
});
