import { describe, expect, it } from 'vitest';
import {
  addOutline,
  padToCanvas,
  removeOrphans,
  trimImage,
} from '../../daemon/src/sprites/cleanup.js';
import { at, pixels } from '../support/sprite-fixtures.js';

const C = { a: 0x336699, b: 0x34679a, k: 0x000000 };

describe('cleanup', () => {
  it('removes isolated opaque pixels and recolours near-duplicate specks', () => {
    const img = pixels(['a....', '.....', '..aaa', '..aba', '..aaa'], C);
    const { image, changed } = removeOrphans(img);
    expect(changed).toBe(2);
    expect(at(image, 0, 0)[3]).toBe(0);
    expect(at(image, 3, 3)).toEqual([0x33, 0x66, 0x99, 255]);
  });

  it('keeps a contrasting single-pixel detail (an eye)', () => {
    const img = pixels(['aaa', 'aka', 'aaa'], C);
    expect(removeOrphans(img).changed).toBe(0);
  });

  it('trims to the opaque pixels and pads onto a canvas at a pivot', () => {
    const img = pixels(['.....', '..a..', '..aa.', '.....'], C);
    const t = trimImage(img);
    expect([t.width, t.height]).toEqual([2, 2]);
    const bottom = padToCanvas(t, 6, 6, 'bottom');
    expect(at(bottom, 2, 5)[3]).toBe(255);
    expect(at(bottom, 2, 4)[3]).toBe(255);
    expect(at(bottom, 2, 3)[3]).toBe(0);
    const topLeft = padToCanvas(t, 6, 6, 'top-left');
    expect(at(topLeft, 0, 0)[3]).toBe(255);
  });

  it('draws a 4-neighbour outer outline without corner pixels', () => {
    const out = addOutline(pixels(['...', '.a.', '...'], C), 0x000000, 'outer');
    expect(at(out, 1, 0)).toEqual([0, 0, 0, 255]);
    expect(at(out, 0, 0)[3]).toBe(0);
    expect(at(out, 1, 1)).toEqual([0x33, 0x66, 0x99, 255]);
  });

  it('draws an inner outline on the sprite edge', () => {
    const out = addOutline(pixels(['aaa', 'aaa', 'aaa'], C), 0xff0000, 'inner');
    expect(at(out, 0, 0)).toEqual([255, 0, 0, 255]);
    expect(at(out, 1, 1)).toEqual([0x33, 0x66, 0x99, 255]);
  });
});
