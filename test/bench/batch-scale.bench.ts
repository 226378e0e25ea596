import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningWorker, startWorker } from '../../daemon/src/embedded-worker/index.js';
import type { WorkerJobParams } from '../../daemon/src/worker-client/types.js';
import { WorkerPool } from '../../daemon/src/worker-client/worker-pool.js';

/**
 * A batch of 20 generations through the WorkerPool on 1, 2 and 4 embedded workers (procedural
 * engine, 10 steps × 60 ms: the time is the "GPU", not this machine's 2 cores), against the
 * ideal ceil(20/N) × one job's time and against the original's one-after-another behaviour
 * (each job submitted when the previous one finished), all measured in this run.
 * Run: npx tsx test/bench/batch-scale.bench.ts
 */

const BATCH = 20;
const STEP_MS = 60;
const params: WorkerJobParams = {
  prompt: 'pixel_art style: slime',
  model: 'SDXL Base 1.0',
  size: [64, 64],
  steps: 10,
  cfgScale: 7.5,
};

async function withPool<T>(
  n: number,
  dir: string,
  fn: (pool: WorkerPool) => Promise<T>,
): Promise<T> {
  const workers: RunningWorker[] = [];
  for (let i = 0; i < n; i++)
    workers.push(
      await startWorker({
        req: 'tcp://127.0.0.1:*',
        pub: 'tcp://127.0.0.1:*',
        stepMs: STEP_MS,
        outputDir: join(dir, `w${n}-${i}`),
      }),
    );
  const pool = new WorkerPool({
    workers: workers.map((w, i) => ({ req: w.reqEndpoint, pub: w.pubEndpoint, name: `gpu${i}` })),
    healthIntervalMs: 0,
    outputDir: join(dir, 'out'),
  });
  try {
    await pool.status();
    await await pool.submit(params).done; // warm-up: sockets, engine
    return await fn(pool);
  } finally {
    await pool.close();
    await Promise.all(workers.map((w) => w.close()));
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'dgx-bench-batch-'));
  const out = (line: string) => process.stdout.write(`${line}\n`);
  try {
    // one job's time and the one-after-another baseline, on one worker
    const { jobMs, sequentialMs } = await withPool(1, dir, async (pool) => {
      const single: number[] = [];
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        const o = await pool.submit(params).done;
        if (o.status !== 'completed') throw new Error(`job ${o.status}`);
        single.push(performance.now() - t0);
      }
      single.sort((a, b) => a - b);
      const t0 = performance.now();
      for (let i = 0; i < BATCH; i++) await pool.submit(params).done;
      return { jobMs: single[1] as number, sequentialMs: performance.now() - t0 };
    });
    out(`batch of ${BATCH}, one job ${(jobMs / 1000).toFixed(2)} s (10 steps × ${STEP_MS} ms)`);
    out('');
    out(
      '| workers | makespan | ideal ceil(20/N) × job | vs ideal | one-after-another | speed-up |',
    );
    out('|---|---|---|---|---|---|');
    for (const n of [1, 2, 4]) {
      const makespan = await withPool(n, dir, async (pool) => {
        const t0 = performance.now();
        const outcomes = await Promise.all(
          Array.from({ length: BATCH }, () => pool.submit(params).done),
        );
        const failed = outcomes.filter((o) => o.status !== 'completed').length;
        if (failed > 0) throw new Error(`${failed} jobs did not complete on ${n} workers`);
        return performance.now() - t0;
      });
      const ideal = Math.ceil(BATCH / n) * jobMs;
      out(
        `| ${n} | ${(makespan / 1000).toFixed(2)} s | ${(ideal / 1000).toFixed(2)} s | ${(makespan / ideal).toFixed(2)}× | ${(sequentialMs / 1000).toFixed(2)} s | ${(sequentialMs / makespan).toFixed(2)}× |`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
