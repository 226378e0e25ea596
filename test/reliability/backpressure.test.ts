import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startWorker } from '../../daemon/src/embedded-worker/index.js';
import { WorkerPool } from '../../daemon/src/worker-client/worker-pool.js';
import { startStack, structured, text } from '../support/reliability-stack.js';
import { tempDir } from '../support/temp-dir.js';
import { recordFigure } from './figures.js';

// More requests than the queues take: the daemon answers a clear "busy, retry" error at its
// limit (performance.max_pending_jobs) and the worker refuses past its queue (max_queue); memory
// stays flat however many requests are refused.

const SUITE = 'load';

describe('backpressure', () => {
  it('the daemon refuses generations past max_pending_jobs with a clear BUSY error, memory flat', async () => {
    const stack = await startStack({
      workers: 1,
      stepMs: 200,
      config: () => ({
        performance: { max_pending_jobs: 8 },
        validation: { allowed_resolutions: ['64x64'] },
        generation: { default_resolution: '64x64' },
      }),
    });
    try {
      const accepted: string[] = [];
      for (let i = 0; i < 8; i++) {
        const r = await stack.call('generate_sprite', { prompt: `queued ${i} bat`, wait_s: 0 });
        expect(structured(r).status, text(r)).toBe('running');
        accepted.push(structured(r).job_id as string);
      }
      global.gc?.();
      const rss0 = process.memoryUsage().rss;
      const t0 = performance.now();
      const REFUSED = 2000;
      let busy = 0;
      let sample = '';
      for (let i = 0; i < REFUSED; i++) {
        const r = await stack.call('generate_sprite', { prompt: `one too many ${i}`, wait_s: 0 });
        if (r.isError && /already has 8 jobs queued or running/.test(text(r))) busy++;
        sample = text(r);
      }
      const ms = (performance.now() - t0) / REFUSED;
      global.gc?.();
      const grownMb = (process.memoryUsage().rss - rss0) / 1048576;
      expect(busy).toBe(REFUSED);
      expect(sample).toMatch(/retry/);
      expect(grownMb).toBeLessThan(64);
      // the accepted ones still finish; then there is room again
      for (const id of accepted) await stack.call('cancel_job', { job_id: id });
      const after = await stack.call('generate_sprite', { prompt: 'room again', wait_s: 0 });
      expect(structured(after).status, text(after)).toBe('running');
      recordFigure({
        suite: SUITE,
        name: 'requests past max_pending_jobs (8) refused BUSY',
        value: `${busy} / ${REFUSED}`,
        note: `${ms.toFixed(2)} ms per refusal, RSS +${grownMb.toFixed(1)} MiB; text: ${sample.slice(0, 90)}`,
      });
    } finally {
      await stack.close();
    }
  });

  it('a worker past its max_queue refuses generate; the job fails with a clear busy error', async () => {
    const dir = tempDir('dgx-rel-bp-');
    const worker = await startWorker({
      req: 'tcp://127.0.0.1:*',
      pub: 'tcp://127.0.0.1:*',
      stepMs: 50,
      maxQueue: 4,
      outputDir: join(dir, 'w'),
    });
    const pool = new WorkerPool({
      workers: [{ req: worker.reqEndpoint, pub: worker.pubEndpoint, name: 'small' }],
      healthIntervalMs: 0,
      outputDir: join(dir, 'out'),
    });
    try {
      const jobs = Array.from({ length: 12 }, () =>
        pool.submit({ prompt: 'slime', model: 'm', size: [64, 64], steps: 10, cfgScale: 7 }),
      );
      const outcomes = await Promise.all(jobs.map((j) => j.done));
      const done = outcomes.filter((o) => o.status === 'completed').length;
      const refused = outcomes.filter((o) => o.status === 'failed');
      expect(done).toBeGreaterThanOrEqual(5); // 1 running + 4 queued at least
      expect(refused.length).toBeGreaterThan(0);
      expect(done + refused.length).toBe(12);
      for (const o of refused) expect(o.status === 'failed' && o.error).toMatch(/busy|queue/i);
      recordFigure({
        suite: SUITE,
        name: 'worker max_queue 4, 12 jobs at once',
        value: `${done} completed, ${refused.length} refused`,
        note: refused[0]?.status === 'failed' ? refused[0].error.slice(0, 110) : '',
      });
    } finally {
      await pool.close();
      await worker.close();
    }
  });

  it('a job refused by a worker with a full queue runs on another worker', async () => {
    const dir = tempDir('dgx-rel-bp2-');
    const a = await startWorker({
      req: 'tcp://127.0.0.1:*',
      pub: 'tcp://127.0.0.1:*',
      stepMs: 100,
      maxQueue: 1,
      outputDir: join(dir, 'a'),
    });
    const b = await startWorker({
      req: 'tcp://127.0.0.1:*',
      pub: 'tcp://127.0.0.1:*',
      stepMs: 5,
      outputDir: join(dir, 'b'),
    });
    const params = {
      prompt: 'slime',
      model: 'm',
      size: [64, 64] as [number, number],
      steps: 10,
      cfgScale: 7,
    };
    // another daemon fills worker A (one running, one queued = max_queue)
    const other = new WorkerPool({
      workers: [{ req: a.reqEndpoint, pub: a.pubEndpoint, name: 'A' }],
      healthIntervalMs: 0,
      outputDir: join(dir, 'other'),
    });
    const ours = new WorkerPool({
      workers: [
        { req: a.reqEndpoint, pub: a.pubEndpoint, name: 'A' },
        { req: b.reqEndpoint, pub: b.pubEndpoint, name: 'B' },
      ],
      healthIntervalMs: 0,
      outputDir: join(dir, 'ours'),
    });
    try {
      const theirs = [other.submit(params), other.submit(params)];
      await new Promise((r) => setTimeout(r, 300));
      // our daemon has no status of A yet: least-loaded picks A first, which is full
      const jobs = [ours.submit(params), ours.submit(params), ours.submit(params)];
      const outcomes = await Promise.all(jobs.map((j) => j.done));
      await Promise.all(theirs.map((j) => j.done));
      recordFigure({
        suite: SUITE,
        name: 'job refused by a full worker (another daemon filled it) → re-sent',
        value: `${outcomes.filter((o) => o.status === 'completed').length} / 3 completed`,
        note: outcomes.map((o) => (o.status === 'completed' ? o.workerName : o.status)).join(', '),
      });
      for (const o of outcomes) expect(o, JSON.stringify(o)).toMatchObject({ status: 'completed' });
    } finally {
      await ours.close();
      await other.close();
      await a.close();
      await b.close();
    }
  });
});
