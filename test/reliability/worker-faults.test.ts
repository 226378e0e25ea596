import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WorkerJobParams } from '../../daemon/src/worker-client/types.js';
import { WorkerPool } from '../../daemon/src/worker-client/worker-pool.js';
import { startFakeWorker } from '../support/fake-worker.js';
import { fixedEndpoints, type Proc, spawnWorker } from '../support/reliability-procs.js';
import { tempDir } from '../support/temp-dir.js';
import { waitFor } from '../support/wait.js';
import { recordFigure } from './figures.js';

// Worker faults against the real WorkerPool: a `dgx-pixels worker` child SIGKILLed mid-job, its
// restart, a worker that accepts and then hangs.

const SUITE = 'faults';
const params: WorkerJobParams = {
  prompt: 'pixel_art style: knight',
  model: 'SDXL Base 1.0',
  size: [64, 64],
  steps: 30,
  cfgScale: 7.5,
};
/** Health: 200 ms period, 500 ms per status; running jobs fail after 4 missed checks. */
const CLIENT = {
  requestTimeoutMs: 1000,
  pingTimeoutMs: 500,
  recoveryIntervalMs: 300,
  timeoutS: 60,
};
const BOUND_MS = 10_000;

let dir: string;
const procs: Proc[] = [];
const pools: WorkerPool[] = [];
beforeEach(async () => {
  dir = tempDir('dgx-rel-faults-');
});
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
  await Promise.all(procs.splice(0).map((p) => p.kill9()));
});

function pool(workers: { req: string; pub: string; name: string }[], timeoutS = 60): WorkerPool {
  const p = new WorkerPool({
    workers: workers.map((w) => ({ ...w, ...CLIENT, timeoutS })),
    healthIntervalMs: 200,
    healthTimeoutMs: 500,
    outputDir: join(dir, 'daemon-out'),
  });
  pools.push(p);
  return p;
}

describe('a worker SIGKILLed mid-job', () => {
  it('fails the job with a clear error within the bound, stays up, and uses the restarted worker', async () => {
    const ep = await fixedEndpoints();
    const first = await spawnWorker(ep, { stepMs: 100, outputDir: join(dir, 'w') });
    procs.push(first);
    const p = pool([{ ...ep, name: 'gpu0' }]);
    const job = p.submit(params);
    await waitFor(
      () => p.job(job.jobId)?.status === 'running',
      'job never started running',
      15_000,
    );
    const killedAt = Date.now();
    await first.kill9();
    const outcome = await job.done;
    const detectMs = Date.now() - killedAt;
    expect(outcome).toMatchObject({ status: 'failed', code: 'WORKER_UNREACHABLE' });
    // "…while running the job" once the worker was seen executing it, else the not-started form;
    // either way in the seed's wording for an unreachable backend
    expect(outcome.status === 'failed' && outcome.error).toMatch(
      /^Backend connection failed: worker gpu0 stopped answering( while running the job)? \(.*\)/,
    );
    expect(detectMs).toBeLessThan(BOUND_MS);
    expect(p.job(job.jobId)).toMatchObject({ status: 'failed' });
    const down = await p.status();
    expect(down[0]).toMatchObject({ reachable: false });

    const second = await spawnWorker(ep, { stepMs: 5, outputDir: join(dir, 'w') });
    procs.push(second);
    const restartedAt = Date.now();
    await waitFor(
      async () => (await p.status())[0]?.reachable,
      'restarted worker never seen reachable',
      10_000,
    );
    const pickupMs = Date.now() - restartedAt;
    const again = await p.submit(params).done;
    expect(again).toMatchObject({ status: 'completed', workerName: 'gpu0' });
    recordFigure({
      suite: SUITE,
      name: 'worker SIGKILL mid-job → job failed with clear error',
      value: detectMs,
      unit: 'ms',
      note: `bound ${BOUND_MS} ms (4 missed 200 ms health checks); restart picked up in ${pickupMs} ms, next job completed`,
    });
  });

  it('with two workers, re-runs the killed worker’s queued job on the other one', async () => {
    const a = await fixedEndpoints();
    const b = await fixedEndpoints();
    const wa = await spawnWorker(a, { stepMs: 100, outputDir: join(dir, 'a') });
    const wb = await spawnWorker(b, { stepMs: 20, outputDir: join(dir, 'b') });
    procs.push(wa, wb);
    const p = pool([
      { ...a, name: 'A' },
      { ...b, name: 'B' },
    ]);
    await p.status(); // both known reachable, queue sizes 0
    // least-loaded dispatch alternates: jobs 0 and 2 go to A (one runs, one queues), 1 and 3 to B
    const jobs = Array.from({ length: 4 }, () => p.submit(params));
    await waitFor(
      () =>
        p.job(jobs[0]?.jobId ?? '')?.workerName === 'A' &&
        p.job(jobs[0]?.jobId ?? '')?.status === 'running',
      'job 0 never ran on A',
      15_000,
    );
    expect(p.job(jobs[2]?.jobId ?? '')?.workerName).toBe('A');
    await wa.kill9();
    const outcomes = await Promise.all(jobs.map((j) => j.done));
    const records = jobs.map((j) => p.job(j.jobId));
    expect(outcomes[0]).toMatchObject({ status: 'failed' });
    expect(outcomes[0]?.status === 'failed' && outcomes[0].error).toMatch(
      /worker A stopped answering/,
    );
    expect(outcomes[2]).toMatchObject({ status: 'completed', workerName: 'B' });
    expect(records[2]?.workerName).toBe('B');
    expect(outcomes[1]).toMatchObject({ status: 'completed', workerName: 'B' });
    expect(outcomes[3]).toMatchObject({ status: 'completed', workerName: 'B' });
    recordFigure({
      suite: SUITE,
      name: 'worker SIGKILL with 2 workers: queued job re-run elsewhere',
      value: '1 of 1',
      note: 'its running job failed clearly (it had started: re-running could duplicate it), the other 3 completed on B',
    });
  });
});

describe('a worker that accepts and never publishes', () => {
  it('times the job out, sends cancel, keeps the job record', async () => {
    const fake = await startFakeWorker();
    try {
      fake.setFaults({ hang: true });
      const p = pool([{ req: fake.req, pub: fake.pub, name: 'hung' }], 1.5);
      const t0 = Date.now();
      const job = p.submit(params);
      const outcome = await job.done;
      const ms = Date.now() - t0;
      expect(outcome).toEqual({
        status: 'failed',
        code: 'JOB_TIMEOUT',
        error: `job ${job.jobId} on worker hung produced no result within 1.5 s (backend.timeout_s); check the worker and ComfyUI, or raise backend.timeout_s`,
      });
      await waitFor(
        () => fake.requestsOf('cancel').some((m) => m.job_id === job.jobId),
        'no cancel reached the hung worker',
      );
      expect(p.job(job.jobId)).toMatchObject({ status: 'failed', workerName: 'hung' });
      expect(ms).toBeGreaterThanOrEqual(1500);
      expect(ms).toBeLessThan(5000);
      recordFigure({
        suite: SUITE,
        name: 'hung worker → time-out + cancel sent + record kept',
        value: ms,
        unit: 'ms',
        note: 'backend.timeout_s = 1.5',
      });
    } finally {
      await fake.close();
    }
  });
});
