import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { startStack, structured, text } from '../support/reliability-stack.js';

// The service post-processes on one SpritePool (performance.postprocess_threads; 0 = the
// main thread). Both must deploy the same bytes: the pool is a place to run, not a second
// pipeline.

const stackWith = (threads: number | undefined) =>
  startStack({
    config: () => ({
      ...(threads === undefined ? {} : { performance: { postprocess_threads: threads } }),
      validation: { allowed_resolutions: ['256x256'] },
      generation: { default_resolution: '256x256' },
    }),
  });

/** A batch's finished sprites, in prompt order. */
async function batchSprites(threads: number | undefined): Promise<Buffer[]> {
  const stack = await stackWith(threads);
  try {
    const batch = await stack.call('generate_batch', {
      prompts: ['red knight', 'green slime', 'blue bat', 'gold coin', 'oak tree'],
      seed: 7,
      steps: 10,
      wait_s: 120,
    });
    expect(batch.isError, text(batch)).toBeFalsy();
    const out = structured(batch);
    expect(out.successful, text(batch)).toBe(5);
    const paths = out.output_paths as string[];
    return await Promise.all(paths.map((p) => readFile(p)));
  } finally {
    await stack.close();
  }
}

describe('post-processing threads', () => {
  it('a batch gives byte-identical sprites on the pool (default, 2 threads) and on the main thread (0)', async () => {
    const [pooled, inThread, two] = [
      await batchSprites(undefined),
      await batchSprites(0),
      await batchSprites(2),
    ];
    expect(pooled.map((b) => b.length).every((n) => n > 0)).toBe(true);
    for (const [k, png] of pooled.entries()) {
      expect(Buffer.compare(png, inThread[k] as Buffer), `sprite ${k}`).toBe(0);
      expect(Buffer.compare(png, two[k] as Buffer), `sprite ${k}`).toBe(0);
    }
  });

  it('refuses a thread count out of range, naming the key', async () => {
    const err = await stackWith(17).catch((e: unknown) => e);
    expect(String(err)).toMatch(/postprocess_threads/);
  });
});
