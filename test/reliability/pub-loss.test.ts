import { mkdir, readdir, readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type RunningWorker, startWorker } from '../../daemon/src/embedded-worker/index.js';
import type { JobOutcome, WorkerJobParams } from '../../daemon/src/worker-client/types.js';
import { WorkerPool } from '../../daemon/src/worker-client/worker-pool.js';
import { type FakeWorker, startFakeWorker } from '../support/fake-worker.js';
import { type PubDropProxy, startPubDropProxy } from '../support/pub-drop-proxy.js';
import { tempDir } from '../support/temp-dir.js';
import { recordFigure } from './figures.js';

// PUB frames lost between worker and daemon (a proxy drops a share of them): every job must
// still end, with the right result (embedded worker: job_status; Python-like worker without
// job_status: the result file found through path_map), or a clear error.

const SUITE = 'faults';
const JOBS = 12;
const params: WorkerJobParams = {
  prompt: 'pixel_art style: slime',
  model: 'SDXL Base 1.0',
  size: [64, 64],
  steps: 10,
  cfgScale: 7.5,
};

let dir: string;
const closers: (() => Promise<unknown>)[] = [];
beforeEach(async () => {
  dir = tempDir('dgx-rel-pub-');
});
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

function pool(
  worker: { req: string; pub: string },
  extra: { pathMap?: Record<string, string>; returnImage?: boolean } = {},
): WorkerPool {
  const p = new WorkerPool({
    workers: [
      {
        ...worker,
        name: 'w',
        recoveryIntervalMs: 300,
        requestTimeoutMs: 2000,
        timeoutS: 60,
        ...extra,
      },
    ],
    healthIntervalMs: 0,
    outputDir: join(dir, 'daemon-out'),
  });
  closers.push(() => p.close());
  return p;
}

async function embedded(): Promise<RunningWorker> {
  const w = await startWorker({
    req: 'tcp://127.0.0.1:*',
    pub: 'tcp://127.0.0.1:*',
    stepMs: 5,
    slots: 2,
    outputDir: join(dir, 'worker-out'),
  });
  closers.push(() => w.close());
  return w;
}

async function proxy(upstream: string, share: number): Promise<PubDropProxy> {
  const p = await startPubDropProxy(upstream, share);
  closers.push(() => p.close());
  return p;
}

/** The worker's own file for `jobId` (`<outputDir>/<job_id>_<ts>.png`). */
async function workerFile(outputDir: string, jobId: string): Promise<Buffer> {
  const name = (await readdir(outputDir)).find(
    (n) => n.startsWith(`${jobId}_`) && n.endsWith('.png'),
  );
  if (name === undefined) throw new Error(`worker wrote no file for ${jobId} in ${outputDir}`);
  return readFile(join(outputDir, name));
}

describe.each([0.3, 1])('embedded worker, %s of PUB frames dropped', (share) => {
  it('ends every job completed with the worker’s own image (job_status recovery)', async () => {
    const w = await embedded();
    const link = await proxy(w.pubEndpoint, share);
    const p = pool({ req: w.reqEndpoint, pub: link.endpoint });
    const t0 = Date.now();
    const jobs = Array.from({ length: JOBS }, () => p.submit(params));
    const outcomes: JobOutcome[] = await Promise.all(jobs.map((j) => j.done));
    const ms = Date.now() - t0;
    let right = 0;
    for (const [i, o] of outcomes.entries()) {
      expect(o.status, JSON.stringify(o)).toBe('completed');
      if (o.status !== 'completed') continue;
      const own = await workerFile(w.outputDir, jobs[i]?.jobId ?? '');
      expect(Buffer.compare(o.image, own)).toBe(0);
      right++;
    }
    recordFigure({
      suite: SUITE,
      name: `PUB loss ${share * 100}%, embedded worker: jobs completed with the right image`,
      value: `${right} / ${JOBS}`,
      note: `${link.dropped} frames dropped, ${link.forwarded} passed; all ended in ${ms} ms`,
    });
  });
});

describe('Python-like worker (no job_status), 30% of PUB frames dropped', () => {
  it('finds every result file through path_map', async () => {
    // the worker writes to "remote" paths; the daemon sees that folder only under another name
    const remote = join(dir, 'remote-out');
    await mkdir(remote);
    const fake: FakeWorker = await startFakeWorker({ outputDir: remote, progressIntervalMs: 5 });
    closers.push(() => fake.close());
    const local = join(dir, 'mounted-out');
    await symlink(remote, local);
    const link = await proxy(fake.pub, 0.3);
    const p = pool({ req: fake.req, pub: link.endpoint }, { pathMap: { [remote]: local } });
    const jobs = Array.from({ length: JOBS }, () => p.submit(params));
    const outcomes = await Promise.all(jobs.map((j) => j.done));
    let right = 0;
    for (const [i, o] of outcomes.entries()) {
      expect(o.status, JSON.stringify(o)).toBe('completed');
      if (o.status !== 'completed') continue;
      expect(Buffer.compare(o.image, await workerFile(remote, jobs[i]?.jobId ?? ''))).toBe(0);
      right++;
    }
    expect(fake.requestsOf('job_status').length).toBeGreaterThan(0); // it was asked, said "unknown"
    recordFigure({
      suite: SUITE,
      name: 'PUB loss 30%, Python-like worker: results found via path_map',
      value: `${right} / ${JOBS}`,
      note: `${link.dropped} frames dropped, ${link.forwarded} passed; no job_status on that worker`,
    });
  });

  it('ends with a clear error when every PUB frame is lost and the output dir is unknown', async () => {
    const fake = await startFakeWorker({ progressIntervalMs: 5 });
    closers.push(() => fake.close());
    const link = await proxy(fake.pub, 1);
    const p = pool({ req: fake.req, pub: link.endpoint });
    const t0 = Date.now();
    const job = p.submit(params);
    const outcome = await job.done;
    expect(outcome).toEqual({
      status: 'failed',
      code: 'JOB_FAILED',
      error: `worker w is idle but never reported a result for job ${job.jobId} (its PUB messages were missed); submit it again`,
    });
    recordFigure({
      suite: SUITE,
      name: 'PUB loss 100%, output dir unreadable → clear error',
      value: Date.now() - t0,
      unit: 'ms',
      note: 'no hang; the job ends failed with an actionable message',
    });
  });
});
