import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startStack, structured, text } from '../support/reliability-stack.js';
import { waitFor } from '../support/wait.js';

// performance.max_pending_jobs is counted in one place (worker-client/pending-jobs.ts), shared by
// the SpriteService's jobs and the WorkerPool's: a job the service accepted is never refused
// further down, and every path that refuses says the same sentence.

const BUSY =
  /the daemon already has \d+ jobs queued or running \(performance\.max_pending_jobs = \d+\)[^"\n]*/;

const smallStack = (maxPending: number) =>
  startStack({
    workers: 1,
    stepMs: 40,
    config: () => ({
      performance: { max_pending_jobs: maxPending },
      validation: { allowed_resolutions: ['64x64'] },
      generation: { default_resolution: '64x64' },
    }),
  });

describe('max_pending_jobs, one count for the daemon', () => {
  it('a character set is one job: it and the jobs accepted after it all reach the worker; one more is BUSY', async () => {
    const stack = await smallStack(3);
    try {
      // 4 directions, mirrored: 3 facings drawn, 3 worker jobs for one client job
      const set = await stack.call('generate_character', {
        prompt: 'red knight',
        directions: 4,
        steps: 10,
        wait_s: 0,
      });
      expect(structured(set).status, text(set)).toBe('running');
      // its worker jobs are on the pool now (before: they filled max_pending_jobs there)
      await waitFor(
        async () => {
          const { workers } = await stack.service.status();
          return workers.reduce((n, w) => n + w.in_flight, 0) === 3;
        },
        "the character set's 3 worker jobs on the pool",
        20_000,
      );
      const ids = [structured(set).job_id as string];
      for (const prompt of ['green slime', 'blue bat']) {
        const r = await stack.call('generate_sprite', { prompt, steps: 10, wait_s: 0 });
        expect(r.isError, text(r)).toBeFalsy();
        ids.push(structured(r).job_id as string);
      }
      const refused = await stack.call('generate_sprite', { prompt: 'one too many', wait_s: 0 });
      expect(refused.isError).toBe(true);
      expect(text(refused)).toMatch(BUSY);
      expect(text(refused)).toContain('already has 3 jobs');
      for (const id of ids) {
        const done = await stack.call('wait_job', { job_id: id, timeout_s: 60 });
        expect(structured(done).status, text(done)).toBe('success');
      }
      const again = await stack.call('generate_sprite', { prompt: 'room again', wait_s: 0 });
      expect(again.isError, text(again)).toBeFalsy();
    } finally {
      await stack.close();
    }
  });

  it('generate_sprite and rebuild_sprites (the pool on its own) refuse with the same sentence', async () => {
    const stack = await smallStack(2);
    try {
      for (const prompt of ['slow one', 'slow two']) {
        const r = await stack.call('generate_sprite', { prompt, steps: 100, wait_s: 0 });
        expect(r.isError, text(r)).toBeFalsy();
      }
      const viaService = await stack.call('generate_sprite', { prompt: 'third', wait_s: 0 });
      const recipe = join(stack.dir, 'sprites.yaml');
      await writeFile(recipe, 'version: 1\nsprites:\n  - name: slime\n    prompt: a small slime\n');
      const viaPool = await stack.call('rebuild_sprites', { recipe_path: recipe });
      const poolFailure = (structured(viaPool).failed as { error: string }[] | undefined)?.[0];
      const fromService = BUSY.exec(text(viaService))?.[0];
      const fromPool = BUSY.exec(poolFailure?.error ?? text(viaPool))?.[0];
      expect(fromService, text(viaService)).toBeDefined();
      expect(fromPool, JSON.stringify(structured(viaPool))).toBe(fromService);
      expect(fromService).toMatch(
        /already has 2 jobs .*wait_job or list_jobs, or retry after \d+ s$/,
      );
    } finally {
      await stack.close();
    }
  });
});
