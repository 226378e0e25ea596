import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type RunningWorker, startWorker } from '../../daemon/src/embedded-worker/index.js';
import type { JobProgress, WorkerJobParams } from '../../daemon/src/worker-client/types.js';
import { WorkerPool } from '../../daemon/src/worker-client/worker-pool.js';
import { startFakeWorker } from '../support/fake-worker.js';
import { tempDir } from '../support/temp-dir.js';
import { recordFigure } from './figures.js';

// Two daemons (two WorkerPools with their own sockets) sharing one worker, the seed's "several
// MCP servers → one backend": each sees only its own jobs' progress and results, and a cancel
// from one never touches the other's jobs.

const SUITE = 'faults';
const params = (prompt: string): WorkerJobParams => ({
  prompt,
  model: 'SDXL Base 1.0',
  size: [64, 64],
  steps: 10,
  cfgScale: 7.5,
});

let dir: string;
const closers: (() => Promise<unknown>)[] = [];
beforeEach(async () => {
  dir = tempDir('dgx-rel-shared-');
});
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

function daemon(name: string, worker: { req: string; pub: string }): WorkerPool {
  const p = new WorkerPool({
    workers: [{ ...worker, name: 'shared', recoveryIntervalMs: 500 }],
    healthIntervalMs: 0,
    outputDir: join(dir, name),
  });
  closers.push(() => p.close());
  return p;
}

describe.each(['embedded', 'python-like'])('two daemons sharing one %s worker', (kind) => {
  it('keeps results, progress and cancels apart', async () => {
    let worker: { req: string; pub: string };
    if (kind === 'embedded') {
      const w: RunningWorker = await startWorker({
        req: 'tcp://127.0.0.1:*',
        pub: 'tcp://127.0.0.1:*',
        stepMs: 10,
        slots: 2,
        outputDir: join(dir, 'worker'),
      });
      closers.push(() => w.close());
      worker = { req: w.reqEndpoint, pub: w.pubEndpoint };
    } else {
      const f = await startFakeWorker({ progressIntervalMs: 10, returnImage: true });
      closers.push(() => f.close());
      worker = { req: f.req, pub: f.pub };
    }
    const a = daemon('a', worker);
    const b = daemon('b', worker);
    const progressIds = { a: new Set<string>(), b: new Set<string>() };
    const seen = (set: Set<string>) => (p: JobProgress) => set.add(p.jobId);
    const jobsA = Array.from({ length: 4 }, (_, i) =>
      a.submit(params(`daemon a sprite ${i}`), { onProgress: seen(progressIds.a) }),
    );
    const jobsB = Array.from({ length: 4 }, (_, i) =>
      b.submit(params(`daemon b sprite ${i}`), { onProgress: seen(progressIds.b) }),
    );
    // A cancels one of its own jobs, and tries to cancel one of B's (unknown to A: refused)
    const cancelledA = jobsA[1]?.jobId ?? '';
    expect(await a.cancel(cancelledA)).toBe(true);
    expect(await a.cancel(jobsB[1]?.jobId ?? '')).toBe(false);
    const outA = await Promise.all(jobsA.map((j) => j.done));
    const outB = await Promise.all(jobsB.map((j) => j.done));
    expect(outA.map((o) => o.status)).toEqual(['completed', 'cancelled', 'completed', 'completed']);
    expect(outB.map((o) => o.status)).toEqual(['completed', 'completed', 'completed', 'completed']);
    const idsA = new Set(jobsA.map((j) => j.jobId));
    const idsB = new Set(jobsB.map((j) => j.jobId));
    for (const id of progressIds.a) expect(idsA.has(id), `A saw progress of ${id}`).toBe(true);
    for (const id of progressIds.b) expect(idsB.has(id), `B saw progress of ${id}`).toBe(true);
    // each daemon's store knows only its own jobs
    for (const j of jobsB) expect(a.job(j.jobId)).toBeUndefined();
    for (const j of jobsA) expect(b.job(j.jobId)).toBeUndefined();
    // results are the daemon's own: each saved under its own output dir with its own job id
    for (const [i, o] of outA.entries())
      if (o.status === 'completed')
        expect(o.imagePath).toBe(join(dir, 'a', `${jobsA[i]?.jobId}.png`));
    recordFigure({
      suite: SUITE,
      name: `two daemons, one ${kind} worker: cross-talk`,
      value: 0,
      note: `8 jobs, 1 cancel; A saw progress of ${progressIds.a.size}, B of ${progressIds.b.size} jobs, none of the other's; A could not cancel B's job`,
    });
  });
});
