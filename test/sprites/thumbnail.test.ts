import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { isDaemonError } from '../../daemon/src/errors.js';
import { makeThumbnail } from '../../daemon/src/sprites/index.js';
import { at, fromPng, HERO, toPng } from '../support/sprite-fixtures.js';

describe('makeThumbnail', () => {
  it('scales pixel art up by an integer factor with crisp pixels', async () => {
    const t = await makeThumbnail(await toPng(HERO), { maxSize: 100 });
    expect([t.width, t.height]).toEqual([96, 80]);
    const img = await fromPng(t.png);
    expect(at(img, 8 * 4, 8 * 3)).toEqual(at(img, 8 * 4 + 7, 8 * 3 + 7)); // one 8×8 block, one colour
  });

  it('shrinks a large image and keeps under maxBytes', async () => {
    const noisy = await sharp({
      create: {
        width: 512,
        height: 512,
        channels: 3,
        background: '#000000',
        noise: { type: 'gaussian', mean: 128, sigma: 60 },
      },
    })
      .png()
      .toBuffer();
    const t = await makeThumbnail(noisy, { maxSize: 256, maxBytes: 8000 });
    expect(t.bytes).toBeLessThanOrEqual(8000);
    expect(Math.max(t.width, t.height)).toBeLessThanOrEqual(256);
  });

  it('rejects a non-image', async () => {
    const err = await makeThumbnail(Buffer.from('nope')).catch((e: unknown) => e);
    expect(isDaemonError(err, 'BAD_IMAGE')).toBe(true);
  });
});
