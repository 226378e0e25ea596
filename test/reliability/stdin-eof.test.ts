import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WorkerClient } from '../../daemon/src/worker-client/worker-client.js';
import { fixedEndpoints, type Proc, spawnWorker } from '../support/reliability-procs.js';
import { spawnServe } from '../support/reliability-serve.js';
import { tempDir } from '../support/temp-dir.js';
import { waitFor } from '../support/wait.js';
import { recordFigure } from './figures.js';

// The Bevy side goes away (stdin EOF on `dgx-pixels serve`): the daemon exits and cancels its
// jobs on the worker, which then stops running them.

const procs: Proc[] = [];
afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.kill9()));
});

describe('stdin EOF on dgx-pixels serve', () => {
  it('exits and cancels its running and queued jobs', async () => {
    const dir = tempDir('dgx-rel-eof-');
    const ep = await fixedEndpoints();
    const workerOut = join(dir, 'worker-out');
    procs.push(await spawnWorker(ep, { stepMs: 500, outputDir: workerOut }));
    const cfg = join(dir, 'config.json');
    await writeFile(
      cfg,
      JSON.stringify({
        state_dir: join(dir, 'state'),
        backend: { workers: [{ ...ep, name: 'gpu0' }], ping_timeout_ms: 2000 },
        validation: { allowed_resolutions: ['64x64'] },
        generation: { default_resolution: '64x64' },
      }),
    );
    const serve = await spawnServe(['--config', cfg]);
    procs.push(serve);
    for (let i = 0; i < 2; i++) {
      const r = await serve.call('generate_sprite', { prompt: `bat ${i}`, steps: 10, wait_s: 0 });
      expect((r.structuredContent as { status: string }).status, JSON.stringify(r.content)).toBe(
        'running',
      );
    }
    const probe = new WorkerClient({ ...ep, requestTimeoutMs: 2000 });
    try {
      // both jobs on the worker, one running and one queued: the daemon sends them one after the
      // other after answering, so the second may still be on its way when the first runs
      await waitFor(
        async () => {
          const s = await probe.status();
          return s.active_jobs === 1 && s.queue_size === 1;
        },
        'the worker never had one job running and one queued',
        10_000,
      );
      const t0 = Date.now();
      serve.closeStdin();
      const exit = await serve.exited;
      const exitMs = Date.now() - t0;
      expect(exit).toEqual({ code: 0, signal: null });
      await waitFor(
        async () => {
          const s = await probe.status();
          return s.active_jobs === 0 && s.queue_size === 0;
        },
        'the worker still has the daemon’s jobs after the daemon exited',
        3000,
      );
      const idleMs = Date.now() - t0;
      // 10 steps × 500 ms: had the jobs not been cancelled, none would be done yet anyway, and
      // none may complete later
      expect((await readdir(workerOut)).filter((n) => n.endsWith('.png'))).toEqual([]);
      recordFigure({
        suite: 'faults',
        name: 'stdin EOF → daemon exit / worker idle (2 jobs cancelled)',
        value: `${exitMs} / ${idleMs}`,
        unit: 'ms',
        note: 'exit code 0; the running and the queued job were cancelled on the worker',
      });
    } finally {
      probe.close();
    }
  });
});
