import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { isDaemonError } from '../../daemon/src/errors.js';
import {
  characterLayout,
  processCharacterSheet,
  processSheet,
  processSprite,
  SpritePool,
} from '../../daemon/src/sprites/index.js';
import { HERO, upscale } from '../support/sprite-fixtures.js';

describe('SpritePool', () => {
  const pool = new SpritePool({ threads: 2 });
  afterAll(() => pool.close());

  it('starts no thread before the first job; warm() starts one more each call, up to its size', async () => {
    const own = new SpritePool({ threads: 2 });
    try {
      expect(own.started).toBe(0);
      own.warm();
      expect(own.started).toBe(1);
      own.warm();
      own.warm();
      expect(own.started).toBe(2);
      // a warmed thread takes jobs like any other
      const input = await upscale(HERO, { scale: [20, 20] });
      const out = await own.processSprite(input);
      expect(Buffer.compare(out.png, (await processSprite(input)).png)).toBe(0);
    } finally {
      await own.close();
    }
  });

  it('gives byte-identical results to processSprite in-thread, more jobs than it holds at once', async () => {
    // 2 threads × 2 jobs each: the 5th and 6th wait in the queue and must still come back right
    const scales = [18.5, 20, 23.3, 16, 17.2, 21];
    const inputs = await Promise.all(
      scales.map((s) => upscale(HERO, { scale: [s, s], noiseSigma: 2 })),
    );
    const pooled = await Promise.all(inputs.map((i) => pool.processSprite(i)));
    expect(pool.started).toBe(2);
    for (const [k, input] of inputs.entries()) {
      const local = await processSprite(input);
      expect(Buffer.compare(pooled[k]?.png ?? Buffer.alloc(0), local.png)).toBe(0);
      expect(pooled[k]?.detected).toEqual(local.detected);
    }
  });

  it('runs sheets too, byte-identical to in-thread', async () => {
    const input = await upscale(HERO, { scale: [16, 16] });
    const pooled = await pool.processSheet(input, { frames: 1 }, { name: 'hero' });
    const local = await processSheet(input, { frames: 1 }, { name: 'hero' });
    expect(pooled.kind).toBe('sheet');
    expect(Buffer.compare(pooled.png, local.png)).toBe(0);
    expect(pooled.grid).toEqual(local.grid);
  });

  it('runs character sheets, byte-identical to in-thread', async () => {
    const layout = characterLayout(4, [{ name: 'idle', frames: 1 }]);
    const cell = await upscale(HERO, { scale: [16, 16] });
    const { width: w = 0, height: h = 0 } = await sharp(cell).metadata();
    // the hero in every cell: one column per frame, one row per generated facing
    const raw = await sharp({
      create: {
        width: w * layout.columns,
        height: h * layout.generated.length,
        channels: 4,
        background: '#000000',
      },
    })
      .composite(
        layout.generated.flatMap((_, row) =>
          Array.from({ length: layout.columns }, (_, col) => ({
            input: cell,
            left: col * w,
            top: row * h,
          })),
        ),
      )
      .png()
      .toBuffer();
    const options = { name: 'hero', imageName: 'hero.png' };
    const pooled = await pool.processCharacterSheet(raw, layout, options);
    const local = await processCharacterSheet(raw, layout, options);
    expect(Buffer.compare(pooled.png, local.png)).toBe(0);
    expect(pooled.json).toEqual(local.json);
    expect(Object.keys(pooled.tags)).toContain('south_idle');
  });

  it('passes DaemonError codes and messages back from the thread', async () => {
    const err = await pool.processSprite(Buffer.from('not a png')).catch((e: unknown) => e);
    expect(isDaemonError(err, 'BAD_IMAGE')).toBe(true);
    expect((err as Error).message).toMatch(
      /^Cannot decode image: 9 bytes are not a readable image/,
    );
  });

  it('close() rejects the running and queued jobs with JOB_CANCELLED, and later calls too', async () => {
    const own = new SpritePool({ threads: 1 });
    const input = await upscale(HERO, { scale: [20, 20] });
    const jobs = [1, 2, 3, 4].map(() => own.processSprite(input).catch((e: unknown) => e));
    await own.close();
    for (const err of await Promise.all(jobs))
      expect(isDaemonError(err, 'JOB_CANCELLED')).toBe(true);
    const late = await own.processSprite(input).catch((e: unknown) => e);
    expect(isDaemonError(late, 'JOB_CANCELLED')).toBe(true);
  });
});

describe('SpritePool when things go wrong', () => {
  it('a job whose options cannot be sent fails alone, naming the fix; the pool goes on', async () => {
    const own = new SpritePool({ threads: 1 });
    try {
      const input = await upscale(HERO, { scale: [20, 20] });
      const bad = { style: (() => 'pixel_art') as unknown as string };
      const err = await own.processSprite(input, bad).catch((e: unknown) => e);
      expect(isDaemonError(err, 'VALIDATION')).toBe(true);
      expect((err as Error).message).toMatch(/cannot be sent .*pass plain data/);
      const ok = await own.processSprite(input);
      expect(ok.width).toBeGreaterThan(0);
    } finally {
      await own.close();
    }
  });

  it('a thread that dies fails only its own jobs, and the next job runs on a fresh thread', async () => {
    const own = new SpritePool({ threads: 1 });
    try {
      const input = await upscale(HERO, { scale: [20, 20] });
      await own.processSprite(input); // the thread is up
      const running = own.processSprite(input).catch((e: unknown) => e);
      // the thread exits under its job, as an out-of-memory or a crashed addon would end it
      const threads = (
        own as unknown as { threads: { worker: { terminate(): Promise<number> } }[] }
      ).threads;
      await threads[0]?.worker.terminate();
      const err = await running;
      expect(isDaemonError(err, 'BAD_IMAGE')).toBe(true);
      expect((err as Error).message).toMatch(/Sprite worker thread failed: the thread exited/);
      const again = await own.processSprite(input);
      expect(Buffer.compare(again.png, (await processSprite(input)).png)).toBe(0);
      expect(own.started).toBe(1);
    } finally {
      await own.close();
    }
  });
});
