import { afterEach, describe, expect, it } from 'vitest';
import { type RunningWorker, startWorker } from '../../daemon/src/embedded-worker/index.js';
import { isPng } from '../../daemon/src/worker-client/image-fetch.js';
import type { WorkerJobParams } from '../../daemon/src/worker-client/types.js';
import { WorkerClient } from '../../daemon/src/worker-client/worker-client.js';
import { WorkerPool } from '../../daemon/src/worker-client/worker-pool.js';
import { tempDir } from '../support/temp-dir.js';
import { within } from '../support/wait.js';

// The client against our own embedded worker (procedural engine): the same
// wire as the Python worker plus the extensions (inline image, job_status,
// a terminal message for cancelled jobs).
const params: WorkerJobParams = {
  prompt: 'a green slime',
  model: 'procedural',
  size: [512, 512],
  steps: 10,
  cfgScale: 7,
};

let running: RunningWorker[] = [];
let closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of closers) await c();
  for (const w of running) await w.close();
  running = [];
  closers = [];
});

async function embedded(maxQueue?: number): Promise<RunningWorker> {
  const outputDir = tempDir('embedded-');
  const w = await startWorker({
    req: 'tcp://127.0.0.1:*',
    stepMs: 5,
    outputDir,
    maxQueue: maxQueue ?? 1000,
  });
  running.push(w);
  return w;
}

describe('WorkerClient against the embedded worker', () => {
  it('gets the image inline and sees the job_status extension', async () => {
    const w = await embedded();
    const client = new WorkerClient({ req: w.reqEndpoint, pub: w.pubEndpoint });
    closers.push(() => client.close());
    const job = await client.generate(params);
    const result = await within(job.result, 'embedded job did not end', 15_000);
    expect(result.status).toBe('completed');
    if (result.status === 'completed')
      expect(result.image !== undefined && isPng(result.image)).toBe(true);
    const state = await client.jobStatus(job.jobId);
    expect(state?.state).toBe('completed');
    expect(client.jobStatusSupported).toBe(true);
  });

  it('runs a pool job end to end with PNG bytes in hand', async () => {
    const w = await embedded();
    const out = tempDir('embedded-pool-');
    const pool = new WorkerPool({
      workers: [{ req: w.reqEndpoint, pub: w.pubEndpoint }],
      outputDir: out,
      healthIntervalMs: 0,
    });
    closers.push(() => pool.close());
    const outcome = await within(pool.submit(params).done, 'pool job did not end', 15_000);
    expect(outcome.status).toBe('completed');
    if (outcome.status === 'completed') expect(isPng(outcome.image)).toBe(true);
  });

  it('ends a cancelled running job cancelled', async () => {
    const w = await embedded();
    const client = new WorkerClient({ req: w.reqEndpoint, pub: w.pubEndpoint });
    closers.push(() => client.close());
    const job = await client.generate({ ...params, steps: 100 });
    expect(await client.cancel(job.jobId)).toBe('cancelled');
    expect(await job.result).toEqual({ status: 'cancelled' });
  });

  it('refuses a job past worker.max_queue with code BUSY, and the pool sends it to another worker', async () => {
    const full = await embedded(0);
    const free = await embedded();
    const client = new WorkerClient({ req: full.reqEndpoint, pub: full.pubEndpoint });
    closers.push(() => client.close());
    const refused = await client.generate(params).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'BUSY' });
    expect(String(refused)).toContain('Worker busy');

    const out = tempDir('embedded-pool-');
    const pool = new WorkerPool({
      workers: [
        { req: full.reqEndpoint, pub: full.pubEndpoint, name: 'full' },
        { req: free.reqEndpoint, pub: free.pubEndpoint, name: 'free' },
      ],
      outputDir: out,
      healthIntervalMs: 0,
    });
    closers.push(() => pool.close());
    for (let i = 0; i < 3; i++) {
      const outcome = await within(pool.submit(params).done, 'pool job did not end', 15_000);
      expect(outcome).toMatchObject({ status: 'completed', workerName: 'free' });
    }
  });
});
