import { afterAll, describe, expect, it } from 'vitest';
import { isDaemonError } from '../../daemon/src/errors.js';
import { processSprite, SpritePool } from '../../daemon/src/sprites/index.js';
import { HERO, upscale } from '../support/sprite-fixtures.js';

describe('SpritePool', () => {
  const pool = new SpritePool({ threads: 2 });
  afterAll(() => pool.close());

  it('gives byte-identical results to processSprite in-thread, several at once', async () => {
    const inputs = await Promise.all(
      [18.5, 20, 23.3].map((s) => upscale(HERO, { scale: [s, s], noiseSigma: 2 })),
    );
    const pooled = await Promise.all(inputs.map((i) => pool.processSprite(i)));
    for (const [k, input] of inputs.entries()) {
      const local = await processSprite(input);
      expect(Buffer.compare(pooled[k]?.png ?? Buffer.alloc(0), local.png)).toBe(0);
      expect(pooled[k]?.detected).toEqual(local.detected);
    }
  });

  it('runs sheets too', async () => {
    const sheet = await pool.processSheet(
      await upscale(HERO, { scale: [16, 16] }),
      { frames: 1 },
      { name: 'hero' },
    );
    expect([sheet.kind, sheet.width, sheet.height]).toEqual(['sheet', 12, 10]);
  });

  it('passes DaemonError codes and messages back from the thread', async () => {
    const err = await pool.processSprite(Buffer.from('not a png')).catch((e: unknown) => e);
    expect(isDaemonError(err, 'BAD_IMAGE')).toBe(true);
    expect((err as Error).message).toMatch(
      /^Cannot decode image: 9 bytes are not a readable image/,
    );
  });
});
