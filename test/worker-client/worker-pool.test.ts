import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { DaemonError } from '../../daemon/src/errors.js';
import { isPng } from '../../daemon/src/worker-client/image-fetch.js';
import { JobStore } from '../../daemon/src/worker-client/job-store.js';
import type {
  JobOutcome,
  JobProgress,
  WorkerJobParams,
} from '../../daemon/src/worker-client/types.js';
import { WorkerClient } from '../../daemon/src/worker-client/worker-client.js';
import { WorkerPool, type WorkerPoolOptions } from '../../daemon/src/worker-client/worker-pool.js';
import {
  type FakeWorker,
  type FakeWorkerOptions,
  startFakeWorker,
} from '../support/fake-worker.js';
import { deadEndpoint } from '../support/ports.js';
import { tempDir } from '../support/temp-dir.js';
import { waitFor, within } from '../support/wait.js';

const params: WorkerJobParams = {
  prompt: 'a blue slime',
  model: 'sdxl',
  size: [512, 512],
  steps: 20,
  cfgScale: 7.5,
};

let workers: FakeWorker[] = [];
let pools: WorkerPool[] = [];
afterEach(async () => {
  for (const p of pools) await p.close();
  for (const w of workers) await w.close();
  pools = [];
  workers = [];
});

async function startWorkers(n: number, options: FakeWorkerOptions = {}): Promise<FakeWorker[]> {
  const started = await Promise.all(Array.from({ length: n }, () => startFakeWorker(options)));
  workers.push(...started);
  return started;
}

function makePool(
  fakes: { req: string; pub: string }[],
  extra: Partial<WorkerPoolOptions> = {},
): WorkerPool {
  const pool = new WorkerPool({
    workers: fakes.map((w, i) => ({
      req: w.req,
      pub: w.pub,
      name: `gpu${i}`,
      requestTimeoutMs: 400,
      pingTimeoutMs: 250,
      recoveryIntervalMs: 300,
    })),
    outputDir: tempDir('pool-test-'),
    healthIntervalMs: 100,
    healthTimeoutMs: 300,
    ...extra,
  });
  pools.push(pool);
  return pool;
}

function done(
  outcomes: Promise<JobOutcome>[],
  what: string,
  timeoutMs = 15_000,
): Promise<JobOutcome[]> {
  return within(Promise.all(outcomes), what, timeoutMs);
}

describe('WorkerPool', () => {
  it('completes a job with the PNG bytes in hand and written under outputDir', async () => {
    const [w] = await startWorkers(1);
    const pool = makePool([w as FakeWorker]);
    const progress: JobProgress[] = [];
    const handle = pool.submit(params, { onProgress: (p) => progress.push(p) });
    const outcome = await within(handle.done, 'job did not complete');
    expect(outcome.status).toBe('completed');
    if (outcome.status !== 'completed') return;
    expect(isPng(outcome.image)).toBe(true);
    expect(existsSync(outcome.imagePath)).toBe(true);
    expect(outcome.workerName).toBe('gpu0');
    expect(progress.at(-1)?.percent).toBe(100);
    expect(pool.job(handle.jobId)).toMatchObject({
      status: 'completed',
      result: { workerName: 'gpu0' },
    });
  });

  it('spreads jobs over the least-loaded workers', async () => {
    const fakes = await startWorkers(3, { progressIntervalMs: 40 });
    const pool = makePool(fakes);
    const handles = [1, 2, 3].map(() => pool.submit(params));
    const outcomes = await done(
      handles.map((h) => h.done),
      'three jobs did not complete',
    );
    const names = outcomes.map((o) => (o.status === 'completed' ? o.workerName : o.status));
    expect(new Set(names)).toEqual(new Set(['gpu0', 'gpu1', 'gpu2']));
  });

  //  pool ──generate×3──▶ gpu0, gpu1, gpu2 (each: 1 running + 2 queued)
  //  gpu1 killed ─── health checks fail twice ─▶ gpu1's queued jobs re-sent to gpu0/gpu2
  //  gpu1's running job fails after four failed checks ("stopped answering while running")
  it('re-dispatches a killed worker’s queued jobs to the others', async () => {
    const fakes = await startWorkers(3, { progressIntervalMs: 30, progressCount: 4 });
    const pool = makePool(fakes);
    const handles = Array.from({ length: 9 }, () => pool.submit(params));
    const victim = fakes[1] as FakeWorker;
    await waitFor(
      () => victim.requestsOf('generate').length >= 3,
      'gpu1 did not get its three jobs',
    );
    victim.stop();
    const outcomes = await done(
      handles.map((h) => h.done),
      'jobs did not all end after a worker died',
      20_000,
    );
    const sentToVictim = new Set(victim.requestsOf('generate').map((m) => String(m.id)));
    const failed = outcomes.filter((o) => o.status === 'failed');
    const completed = outcomes.filter((o) => o.status === 'completed');
    // at most the job gpu1 was running is lost; its queued ones finished elsewhere
    expect(failed.length).toBeLessThanOrEqual(1);
    expect(completed.length).toBeGreaterThanOrEqual(8);
    for (const o of completed) if (o.status === 'completed') expect(o.workerName).not.toBe('gpu1');
    expect(sentToVictim.size).toBeGreaterThanOrEqual(3);
    for (const f of failed)
      if (f.status === 'failed') expect(f.error).toMatch(/worker gpu1 stopped answering/);
  });

  it('skips a dead worker at submit after one failed ping', async () => {
    const req = await deadEndpoint();
    const [w] = await startWorkers(1);
    const pool = makePool([{ req, pub: req }, w as FakeWorker], { healthIntervalMs: 0 });
    const t0 = Date.now();
    const outcome = await within(
      pool.submit(params).done,
      'job did not complete on the live worker',
    );
    expect(outcome).toMatchObject({ status: 'completed', workerName: 'gpu1' });
    expect(Date.now() - t0).toBeLessThan(3000);
    expect((await pool.status())[0]?.reachable).toBe(false);
  });

  it('uses a restarted worker again', async () => {
    const [w] = await startWorkers(1);
    const fake = w as FakeWorker;
    const pool = makePool([fake]);
    fake.stop();
    await waitFor(
      async () => (await pool.status())[0]?.reachable === false,
      'pool did not see the worker die',
    );
    await fake.start();
    await waitFor(
      async () => (await pool.status())[0]?.reachable === true,
      'pool did not see the worker come back',
      8000,
    );
    const outcome = await within(pool.submit(params).done, 'job on the revived worker did not end');
    expect(outcome.status).toBe('completed');
  });

  it('fails fast with the connection message when no worker answers', async () => {
    const req = await deadEndpoint();
    const pool = makePool([{ req, pub: req.replace(/\d+$/, (p) => String(Number(p) + 1)) }], {
      maxAttempts: 1,
    });
    const t0 = Date.now();
    const outcome = await within(pool.submit(params).done, 'job on a dead worker did not fail');
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(outcome).toEqual({
      status: 'failed',
      code: 'WORKER_UNREACHABLE',
      error: `Backend connection failed: no DGX worker answered at ${req} within 250 ms; start it (dgx-pixels worker) or check backend.zmq_endpoint`,
    });
  });

  it('answers BUSY past performance.max_pending_jobs', async () => {
    const [w] = await startWorkers(1, { progressIntervalMs: 50 });
    const pool = makePool([w as FakeWorker], { maxPendingJobs: 2 });
    const a = pool.submit(params);
    const b = pool.submit(params);
    let err: unknown;
    try {
      pool.submit(params);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DaemonError);
    expect((err as DaemonError).code).toBe('BUSY');
    expect((err as DaemonError).message).toBe(
      'the daemon already has 2 jobs queued or running (performance.max_pending_jobs = 2); wait for some with wait_job or list_jobs, or retry after 10 s',
    );
    await done([a.done, b.done], 'the two accepted jobs did not end');
  });

  it("frees a cancelled job's place at once: the next submit is not BUSY", async () => {
    // a cancelled job ends cancelled at once; its place under max_pending_jobs must too, or a
    // caller who cancelled everything is told the daemon is full (flaked in backpressure.test.ts)
    const [w] = await startWorkers(1, { progressIntervalMs: 50 });
    const pool = makePool([w as FakeWorker], { maxPendingJobs: 1 });
    // cancelled while its generate request is still on the way (the worker has not accepted it)
    const a = pool.submit({ ...params, steps: 1000 });
    expect(await pool.cancel(a.jobId)).toBe(true);
    const b = pool.submit({ ...params, steps: 1 });
    expect(await done([a.done], 'cancelled job did not end')).toEqual([{ status: 'cancelled' }]);
    await done([b.done], 'next job did not end');
  });

  it('cancels through an AbortSignal and ignores the late result', async () => {
    const [w] = await startWorkers(1, { progressIntervalMs: 50 });
    const fake = w as FakeWorker;
    const pool = makePool([fake]);
    const controller = new AbortController();
    const handle = pool.submit(params, {
      signal: controller.signal,
      onProgress: () => controller.abort(),
    });
    expect(await within(handle.done, 'cancelled job did not end')).toEqual({ status: 'cancelled' });
    expect(pool.job(handle.jobId)?.status).toBe('cancelled');
    await waitFor(() => fake.requestsOf('cancel').length === 1, 'the worker got no cancel request');
    expect(await pool.cancel(handle.jobId)).toBe(false);
  });

  it('reports every worker in status() and merges list_models', async () => {
    const fakes = await startWorkers(2);
    const req = await deadEndpoint();
    const pool = makePool([...fakes, { req, pub: req }]);
    const status = await pool.status();
    expect(status.map((s) => [s.name, s.reachable])).toEqual([
      ['gpu0', true],
      ['gpu1', true],
      ['gpu2', false],
    ]);
    expect(status[0]).toMatchObject({ version: '1.0.0', queueSize: 0, activeJobs: 0, inFlight: 0 });
    expect(status[2]?.error).toMatch(/no DGX worker answered "status"/);
    const models = await pool.listModels();
    expect(models.map((m) => m.model_type)).toEqual(['lora', 'checkpoint', 'vae']);
  });

  it('ends pending jobs with a clear message when the pool closes', async () => {
    const [w] = await startWorkers(1, { progressIntervalMs: 200, progressCount: 10 });
    const pool = makePool([w as FakeWorker]);
    const handle = pool.submit(params);
    await waitFor(() => (w as FakeWorker).requestsOf('generate').length === 1, 'job was not sent');
    await pool.close();
    expect(await handle.done).toEqual({
      status: 'failed',
      code: 'NOT_READY',
      error: `job ${handle.jobId} did not finish: the daemon is shutting down`,
    });
    expect(() => pool.submit(params)).toThrow('the worker pool is closed');
  });

  it('journals jobs so a restarted daemon knows their results', async () => {
    const [w] = await startWorkers(1);
    const stateDir = tempDir('pool-test-');
    const store = JobStore.open(stateDir);
    const pool = makePool([w as FakeWorker], { store });
    const handle = pool.submit(params);
    const outcome = await within(handle.done, 'job did not complete');
    await pool.close();
    store.close();
    const reopened = JobStore.open(stateDir);
    const record = reopened.get(handle.jobId);
    expect(record?.status).toBe('completed');
    expect(record?.result?.imagePath).toBe(
      outcome.status === 'completed' ? outcome.imagePath : 'none',
    );
    expect(record?.params).toEqual(params);
    reopened.close();
  });
});

describe('WorkerPool with a lone worker that dies', () => {
  // pool ──generate×2──▶ gpu0 (1 running, 1 queued); gpu0 killed; no other worker:
  // nothing to re-send to, so both jobs fail after four missed health checks
  it('fails its jobs with the fix once it has missed four health checks', async () => {
    const [w] = await startWorkers(1, { progressIntervalMs: 100, progressCount: 20 });
    const fake = w as FakeWorker;
    const pool = makePool([fake]);
    const handles = [pool.submit(params), pool.submit(params)];
    await waitFor(() => fake.requestsOf('generate').length === 2, 'jobs were not sent');
    fake.stop();
    const outcomes = await done(
      handles.map((h) => h.done),
      'jobs on a dead lone worker did not end',
    );
    for (const o of outcomes) {
      expect(o.status).toBe('failed');
      if (o.status === 'failed') {
        expect(o.error).toMatch(
          /^Backend connection failed: worker gpu0 stopped answering \(.*\); the job did not finish, submit it again$/,
        );
      }
    }
  });
});

describe('WorkerPool after a daemon restart', () => {
  //  daemon A: job j queued/running on gpu0, journal says "running" ── daemon A dies
  //  gpu0 finishes j while no daemon listens
  //  daemon B: JobStore.open → j failed + interrupted; WorkerPool asks gpu0 (job_status) → completed
  it('recovers a job the worker finished while the daemon was down', async () => {
    const [w] = await startWorkers(1, { jobStatus: true });
    const fake = w as FakeWorker;
    const stateDir = tempDir('pool-test-');
    const before = JobStore.open(stateDir);
    const jobId = '3f0c7a52-7d6e-4a41-9c55-2f3f8f7b1e01';
    before.create(jobId, params);
    before.assign(jobId, 'gpu0');
    before.transition(jobId, 'running');
    before.close();
    // the job reaches the worker and finishes with nobody listening
    const sender = new WorkerClient({ req: fake.req, pub: fake.pub });
    const tracker = await sender.generate(params, { jobId });
    await within(tracker.result, 'worker did not finish the job');
    sender.close();

    const after = JobStore.open(stateDir);
    expect(after.get(jobId)?.status).toBe('failed');
    expect(after.interrupted.has(jobId)).toBe(true);
    const pool = makePool([fake], { store: after, healthIntervalMs: 0 });
    await waitFor(
      () => after.get(jobId)?.status === 'completed',
      'interrupted job was not recovered',
    );
    const record = after.get(jobId);
    expect(record?.error).toBeUndefined();
    expect(record?.result?.workerName).toBe('gpu0');
    expect(existsSync(record?.result?.imagePath ?? '/nonexistent')).toBe(true);
    expect(await pool.recoverInterrupted()).toEqual([]);
    after.close();
  });
});
