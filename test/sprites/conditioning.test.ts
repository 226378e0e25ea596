import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  backgroundFor,
  finishConditioned,
  maskFromImage,
  rectMask,
  spriteTraits,
  toGenerationImage,
} from '../../daemon/src/sprites/conditioning.js';
import { encodePng } from '../../daemon/src/sprites/decode.js';
import { blankImage, type RawImage } from '../../daemon/src/sprites/raw-image.js';

// The daemon's half of image conditioning (issue 15) on known pixels: the init image and
// mask at the generation size, and the finish (anchor, composite) of an edit.

const RED = [200, 30, 30, 255];
const BLUE = [30, 30, 200, 255];
const GREEN = [30, 200, 30, 255];

/** A 12×12 figure: a 4-wide body in columns left..left+3, rows 2..11, head red, legs blue. */
function figure(left: number, head = RED): RawImage {
  const img = blankImage(12, 12);
  for (let y = 2; y < 12; y++)
    for (let x = left; x < left + 4; x++) img.data.set(y < 5 ? head : BLUE, (y * 12 + x) * 4);
  return img;
}

const px = (img: RawImage, x: number, y: number) => [
  ...img.data.subarray((y * img.width + x) * 4, (y * img.width + x) * 4 + 4),
];

async function decode(png: Buffer): Promise<RawImage> {
  const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height };
}

describe('conditioning inputs', () => {
  it('the init image is the sprite in crisp blocks at the generation size, transparent → a colour far from the sprite', async () => {
    const sprite = figure(4);
    const bg = backgroundFor(sprite);
    expect([0xffffff, 0x000000, 0xff00ff, 0x00ff00, 0x00ffff, 0x808080]).toContain(bg);
    const init = await decode(await toGenerationImage(sprite, [96, 96]));
    expect([init.width, init.height]).toEqual([96, 96]);
    // sprite pixel (5, 3) = red → every pixel of its 8×8 block
    for (const [x, y] of [
      [40, 24],
      [47, 31],
    ] as const)
      expect(px(init, x, y)).toEqual(RED);
    expect(px(init, 0, 0)).toEqual([(bg >> 16) & 255, (bg >> 8) & 255, bg & 255, 255]);
  });

  it('a mask image of another size is scaled nearest-neighbour to the sprite; white and opaque = repaint', async () => {
    const m = blankImage(24, 24);
    for (let y = 0; y < 24; y++)
      for (let x = 0; x < 24; x++)
        m.data.set(x < 8 && y < 6 ? [255, 255, 255, 255] : [0, 0, 0, 255], (y * 24 + x) * 4);
    const mask = await maskFromImage(await encodePng(m), 12, 12);
    expect(mask).toEqual(rectMask(12, 12, { x: 0, y: 0, width: 4, height: 3 }));
  });

  it('traits: size, opaque colours most used first, anchor', async () => {
    const t = await spriteTraits(await encodePng(figure(4)));
    expect([t.width, t.height]).toEqual([12, 12]);
    expect(t.palette).toEqual(['#1e1ec8', '#c81e1e']);
    expect(t.anchor).toEqual({ x: 5, y: 11 });
  });
});

describe('finishConditioned', () => {
  it('an edit keeps every pixel outside the mask and takes the new ones inside it', async () => {
    const original = figure(4);
    const mask = rectMask(12, 12, { x: 3, y: 0, width: 6, height: 5 });
    const edited = await decode(
      (
        await finishConditioned(await encodePng(figure(4, GREEN)), {
          composite: { original, mask },
        })
      ).png,
    );
    for (let y = 0; y < 12; y++)
      for (let x = 0; x < 12; x++) {
        const inside = mask[y * 12 + x] === 1;
        expect(px(edited, x, y), `${x},${y}`).toEqual(
          inside && y >= 2 && x >= 4 && x < 8 ? GREEN : px(original, x, y),
        );
      }
  });

  it('an edit whose figure came back shifted is aligned on the pixels outside the mask first', async () => {
    const original = figure(4);
    const mask = rectMask(12, 12, { x: 0, y: 0, width: 12, height: 5 });
    // the model moved the figure 2 px right and repainted the head
    const out = await decode(
      (
        await finishConditioned(await encodePng(figure(6, GREEN)), {
          composite: { original, mask },
        })
      ).png,
    );
    expect(px(out, 4, 3)).toEqual(GREEN); // the new head sits on the original body
    expect(px(out, 8, 3)).toEqual([0, 0, 0, 0]);
  });

  it('an edit that widens the figure inside the mask does not move it', async () => {
    const original = figure(4);
    const mask = rectMask(12, 12, { x: 0, y: 0, width: 12, height: 5 });
    const wide = figure(4, GREEN);
    for (let x = 0; x < 12; x++) wide.data.set(GREEN, (2 * 12 + x) * 4); // a hat brim across the row
    const out = await decode(
      (await finishConditioned(await encodePng(wide), { composite: { original, mask } })).png,
    );
    expect(px(out, 0, 2)).toEqual(GREEN);
    expect(px(out, 11, 2)).toEqual(GREEN);
    expect(px(out, 4, 3)).toEqual(GREEN);
  });

  it('a reference anchor moves the new figure onto it', async () => {
    const out = await decode(
      (await finishConditioned(await encodePng(figure(1)), { anchor: { x: 6, y: 11 } })).png,
    );
    expect(px(out, 5, 6)).toEqual(BLUE);
    expect(px(out, 1, 6)).toEqual([0, 0, 0, 0]);
  });
});
