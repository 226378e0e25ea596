import { describe, expect, it } from 'vitest';
import { downscaleToGrid } from '../../daemon/src/sprites/downscale.js';
import { layCells } from '../../daemon/src/sprites/grid-axis.js';
import type { Grid } from '../../daemon/src/sprites/grid-detect.js';
import { at, pixels } from '../support/sprite-fixtures.js';

function grid(period: number, w: number, h: number): Grid {
  const axis = (extent: number) => ({
    period,
    phase: 0,
    coherence: 1,
    ...layCells(extent, period, 0),
  });
  return { x: axis(w), y: axis(h), confidence: 1, source: 'explicit' };
}

describe('downscaleToGrid', () => {
  it('takes the majority colour of each cell, ignoring its anti-aliased rim', () => {
    // 2×1 cells of 5 px; the rim column of each cell is a blend that must not win.
    const img = pixels(['mrrrmmbbbm', 'mrrrmmbbbm', 'mrrrmmbbbm', 'mrrrmmbbbm', 'mrrrmmbbbm'], {
      r: 0xff0000,
      b: 0x0000ff,
      m: 0x800080,
    });
    const out = downscaleToGrid(img, grid(5, 10, 5));
    expect([out.width, out.height]).toEqual([2, 1]);
    expect(at(out, 0, 0)).toEqual([255, 0, 0, 255]);
    expect(at(out, 1, 0)).toEqual([0, 0, 255, 255]);
  });

  it('averages colour noise of the majority but not the minority colour', () => {
    const img = pixels(['abaaXa', 'aaabaa', 'aXaaab', 'abaaaa', 'aaaaba', 'aaXaaa'], {
      a: 0x646464,
      b: 0x6a6a6a,
      X: 0x00ff00,
    });
    const out = downscaleToGrid(img, grid(6, 6, 6), { inset: 0 });
    const [r, g] = at(out, 0, 0);
    expect(r).toBeGreaterThanOrEqual(100);
    expect(r).toBeLessThanOrEqual(102);
    expect(g).toBe(r); // the green specks are outliers, not mixed in
  });

  it('keeps a cell transparent when most of it is transparent', () => {
    const img = pixels(['..r', '...', 'r..'], { r: 0xff0000 });
    const out = downscaleToGrid(img, grid(3, 3, 3), { inset: 0 });
    expect(at(out, 0, 0)).toEqual([0, 0, 0, 0]);
  });

  it('handles fractional cells: 10 px over 3 cells of 3.33 px', () => {
    const img = pixels(['aaabbbbccc', 'aaabbbbccc'], { a: 0x111111, b: 0x222222, c: 0x333333 });
    const g: Grid = {
      x: { period: 10 / 3, phase: 0, coherence: 1, ...layCells(10, 10 / 3, 0, 3) },
      y: { period: 2, phase: 0, coherence: 1, ...layCells(2, 2, 0, 1) },
      confidence: 1,
      source: 'explicit',
    };
    const out = downscaleToGrid(img, g);
    expect([0, 1, 2].map((x) => at(out, x, 0)[0])).toEqual([0x11, 0x22, 0x33]);
  });
});
