import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningWorker, startWorker } from '../../daemon/src/embedded-worker/index.js';
import { silentLogger } from '../../daemon/src/log.js';
import { suiteTempDir } from '../support/temp-dir.js';
import { type Daemon, startDaemon } from './support/daemon.js';

/**
 *   SDK Client ──stdio──▶ daemon ──┬─ZeroMQ─▶ worker A (1 slot)
 *                                  └─ZeroMQ─▶ worker B (1 slot)
 */
const dir = suiteTempDir('dgx-batch-');
let workers: RunningWorker[];
let daemon: Daemon;

beforeAll(async () => {
  await mkdir(join(dir, 'assets'));
  workers = await Promise.all(
    ['a', 'b'].map((n) =>
      startWorker({
        req: 'tcp://127.0.0.1:*',
        engine: 'procedural',
        stepMs: 30,
        slots: 1,
        outputDir: join(dir, n),
        logger: silentLogger,
      }),
    ),
  );
  const list = workers.map((w, i) => ({ req: w.reqEndpoint, pub: w.pubEndpoint, name: `gpu${i}` }));
  daemon = await startDaemon({
    dir,
    req: workers[0]?.reqEndpoint as string,
    pub: workers[0]?.pubEndpoint as string,
    env: { DGX_PIXELS_BACKEND_WORKERS: JSON.stringify(list) },
  });
});
afterAll(async () => {
  await daemon.close();
  await Promise.all(workers.map((w) => w.close()));
});

describe('generate_batch across workers', () => {
  it('runs the jobs in parallel on both workers', async () => {
    const result = await daemon.call('generate_batch', {
      prompts: ['goblin', 'orc', 'troll', 'imp'],
      size: [16, 16],
      resolution: '512x512',
    });
    const s = result.structuredContent as { status: string; job_ids: string[]; total_time: number };
    expect(s.status).toBe('success');
    const jobs = await Promise.all(s.job_ids.map((id) => daemon.call('get_job', { job_id: id })));
    const views = jobs.map(
      (j) => j.structuredContent as { worker: string; generation_time: number },
    );
    expect(new Set(views.map((v) => v.worker))).toEqual(new Set(['gpu0', 'gpu1']));
    const serialS = views.reduce((sum, v) => sum + v.generation_time, 0);
    // Four ~1 s jobs on two one-slot workers: well under the serial sum.
    expect(s.total_time).toBeLessThan(serialS * 0.8);
  });
});
