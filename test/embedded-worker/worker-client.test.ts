import { afterEach, describe, expect, it } from 'vitest';
import { startWorker } from '../../daemon/src/embedded-worker/index.js';
import { WorkerClient } from '../../daemon/src/worker-client/worker-client.js';
import { tempDir } from './wire-client.js';

/** The daemon's own WorkerClient against the embedded worker: the pair must just work. */
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function pair(stepMs = 2): Promise<WorkerClient> {
  const tmp = await tempDir();
  cleanups.push(tmp.remove);
  const worker = await startWorker({ req: 'tcp://127.0.0.1:*', outputDir: tmp.dir, stepMs });
  cleanups.push(() => worker.close());
  const client = new WorkerClient({
    req: worker.reqEndpoint,
    pub: worker.pubEndpoint,
    returnImage: true,
  });
  cleanups.push(() => client.close());
  return client;
}

describe('WorkerClient against the embedded worker', () => {
  it('pings, reads status and models, and gets a generated image inline', async () => {
    const client = await pair();
    expect(await client.ping()).toBeGreaterThanOrEqual(0);
    expect(await client.status()).toMatchObject({
      type: 'status_info',
      version: '1.0.0',
      queue_size: 0,
    });
    expect((await client.listModels()).map((m) => m.name)).toContain('procedural-pixel-v1');
    const tracker = await client.generate({
      prompt: 'gold coin',
      model: 'm',
      size: [128, 128],
      steps: 4,
      cfgScale: 7,
      seed: 3,
    });
    const result = await tracker.result;
    expect(result.status).toBe('completed');
    if (result.status !== 'completed') return;
    expect(result.imagePath).toMatch(/_\d{10}\.png$/);
    expect([...(result.image ?? new Uint8Array()).subarray(0, 4)]).toEqual([
      0x89, 0x50, 0x4e, 0x47,
    ]);
  });

  it('cancels a running job and the client does not report it completed', async () => {
    const client = await pair(100);
    const tracker = await client.generate({
      prompt: 'slime',
      model: 'm',
      size: [64, 64],
      steps: 100,
      cfgScale: 7,
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(await client.cancel(tracker.jobId)).toBe('cancelled');
    const result = await Promise.race([
      tracker.result,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('no result 5 s after cancel')), 5000),
      ),
    ]);
    expect(result.status).not.toBe('completed');
  });
});
