import { describe, expect, it } from 'vitest';
import { percentile, startStack, structured, text } from '../support/reliability-stack.js';
import { recordFigure } from './figures.js';

// Soak: SOAK_GENERATIONS (default 2000) generations with the procedural engine at step-ms 0 across
// 4 embedded workers, through real MCP tool calls, mixed with deploys (every 10th) and cancels
// (every 25th: started with wait_s 0, then cancel_job). Figures: throughput, p50/p99 tool latency,
// RSS at start and end.
const TOTAL = Number(process.env.SOAK_GENERATIONS ?? 2000);
const CONCURRENCY = 8;

describe('soak', () => {
  it(`runs ${TOTAL} generations on 4 workers with deploys and cancels, memory bounded`, async () => {
    const stack = await startStack({
      workers: 4,
      config: () => ({
        validation: { allowed_resolutions: ['64x64', '512x512'] },
        generation: { default_resolution: '64x64' },
      }),
    });
    try {
      const latencies: Record<string, number[]> = { generate_sprite: [], cancel_job: [] };
      const outcome = { success: 0, cancelled: 0, error: 0, deployed: 0 };
      const errors: string[] = [];
      const timed = async (tool: string, args: Record<string, unknown>) => {
        const t0 = performance.now();
        const r = await stack.call(tool, args);
        latencies[tool]?.push(performance.now() - t0);
        return r;
      };
      const one = async (i: number) => {
        const cancel = i % 25 === 24;
        const deploy = i % 10 === 3;
        const r = await timed('generate_sprite', {
          prompt: `soak creature number ${i}`,
          resolution: '64x64',
          size: [16, 16],
          steps: 10,
          seed: i + 1000,
          ...(cancel ? { wait_s: 0 } : {}),
          ...(deploy ? { name: `soak/s${Math.floor(i / 10) % 20}`, deploy: true } : {}),
        });
        const s = structured(r);
        if (cancel && s.status === 'running') {
          const c = await timed('cancel_job', { job_id: s.job_id });
          if (structured(c).status === 'cancelled') outcome.cancelled++;
          else if (structured(c).status === 'success') outcome.success++;
          else errors.push(text(c));
          return;
        }
        if (r.isError || s.status !== 'success') {
          outcome.error++;
          errors.push(text(r).slice(0, 200));
          return;
        }
        outcome.success++;
        if (deploy && (s.deployed_path as string | undefined)) outcome.deployed++;
      };

      // warm up (sharp, zeromq, engine) before the first RSS sample
      for (let i = 0; i < 8; i++) await one(-1 - i);
      outcome.success = 0;
      outcome.deployed = 0;
      errors.length = 0;
      latencies.generate_sprite = [];
      global.gc?.();
      const rssStart = process.memoryUsage().rss;
      const heapStart = process.memoryUsage().heapUsed;
      const t0 = performance.now();
      let next = 0;
      let rssMid = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < TOTAL) {
            const i = next++;
            if (i === Math.floor(TOTAL / 2)) rssMid = process.memoryUsage().rss;
            await one(i);
          }
        }),
      );
      const seconds = (performance.now() - t0) / 1000;
      global.gc?.();
      const rssEnd = process.memoryUsage().rss;
      const heapEnd = process.memoryUsage().heapUsed;
      const mb = (b: number) => Math.round(b / 1048576);
      const gen = latencies.generate_sprite ?? [];
      const suite = 'load';
      recordFigure({
        suite,
        name: 'soak generations (4 workers, step-ms 0, 8 concurrent MCP calls)',
        value: TOTAL,
        note: `${outcome.success} ok, ${outcome.cancelled} cancelled, ${outcome.deployed} deployed, ${outcome.error} errors`,
      });
      recordFigure({ suite, name: 'soak wall time', value: Math.round(seconds), unit: 's' });
      recordFigure({
        suite,
        name: 'soak throughput',
        value: Math.round((TOTAL / seconds) * 10) / 10,
        unit: 'generations/s',
        note: 'generate → 64×64 procedural → post-process 16×16 (→ deploy)',
      });
      recordFigure({
        suite,
        name: 'generate_sprite latency p50 / p99',
        value: `${Math.round(percentile(gen, 50))} / ${Math.round(percentile(gen, 99))}`,
        unit: 'ms',
        note: `${gen.length} calls, 8 in flight`,
      });
      const cancels = latencies.cancel_job ?? [];
      recordFigure({
        suite,
        name: 'cancel_job latency p50 / p99',
        value: `${Math.round(percentile(cancels, 50))} / ${Math.round(percentile(cancels, 99))}`,
        unit: 'ms',
        note: `${cancels.length} calls`,
      });
      recordFigure({
        suite,
        name: 'RSS start / middle / end',
        value: `${mb(rssStart)} / ${mb(rssMid)} / ${mb(rssEnd)}`,
        unit: 'MiB',
        note: `growth ${mb(rssEnd - rssStart)} MiB over ${TOTAL} generations`,
      });
      recordFigure({
        suite,
        name: 'JS heap after GC start / end',
        value: `${mb(heapStart)} / ${mb(heapEnd)}`,
        unit: 'MiB',
        note: global.gc ? 'gc() before each sample' : 'no --expose-gc: heap not collected first',
      });
      // the daemon keeps at most 1000 ended jobs (SpriteService, JobStore): older ones are gone
      const kept = stack.service.listJobs({ limit: 100_000 }).length;
      recordFigure({
        suite,
        name: 'jobs kept in memory after the soak',
        value: kept,
        note: 'cap 1000 (oldest ended jobs dropped)',
      });
      expect(kept).toBeLessThanOrEqual(Math.min(1000, TOTAL + 8));
      expect(errors, errors.slice(0, 3).join('\n')).toEqual([]);
      expect(outcome.success + outcome.cancelled).toBe(TOTAL);
      // every manifest entry deployed during the soak is there and readable
      const manifest = (await stack.service.readManifest()) as { sprites: { name: string }[] };
      expect(manifest.sprites.filter((s) => s.name.startsWith('soak/')).length).toBe(
        Math.min(20, Math.ceil(TOTAL / 10)),
      );
      // bounded growth: well under 1 MiB per 10 generations
      expect(rssEnd - rssStart).toBeLessThan(200 * 1048576);
    } finally {
      await stack.close();
    }
  });
});
