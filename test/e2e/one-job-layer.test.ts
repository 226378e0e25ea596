import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningWorker, startWorker } from '../../daemon/src/embedded-worker/index.js';
import { silentLogger } from '../../daemon/src/log.js';
import { tempDir } from '../support/temp-dir.js';
import { type Daemon, startDaemon, until } from './support/daemon.js';

// One job layer, seen from an MCP client over stdio: the job id a generation call answers is
// the id the worker, the journal and a restarted daemon know; rebuild_sprites shares the
// daemon's one worker pool and job journal.

let dir: string;
let worker: RunningWorker | undefined;
const daemons: Daemon[] = [];
afterEach(async () => {
  for (const d of daemons.splice(0)) await d.close().catch(() => undefined);
  await worker?.close();
  worker = undefined;
});

async function stack(stepMs: number) {
  dir = tempDir('dgx-e2e-jobs-');
  await mkdir(join(dir, 'assets'));
  worker = await startWorker({
    req: 'tcp://127.0.0.1:*',
    engine: 'procedural',
    stepMs,
    outputDir: join(dir, 'worker-out'),
    logger: silentLogger,
  });
}

async function daemon(): Promise<Daemon> {
  if (worker === undefined) throw new Error('start the worker first');
  const d = await startDaemon({
    dir,
    req: worker.reqEndpoint,
    pub: worker.pubEndpoint,
    env: {
      DGX_PIXELS_VALIDATION_ALLOWED_RESOLUTIONS: '[64x64]',
      DGX_PIXELS_GENERATION_DEFAULT_RESOLUTION: '64x64',
      DGX_PIXELS_BACKEND_HEALTH_INTERVAL_MS: '200',
      DGX_PIXELS_LOG_LEVEL: 'warning',
    },
  });
  daemons.push(d);
  return d;
}

type Job = { status: string; job_id: string; output_path?: string; error?: string };

async function journal(): Promise<{ jobId: string; status: string; error?: string }[]> {
  const text = await readFile(join(dir, 'state', 'jobs.jsonl'), 'utf8').catch(() => '');
  return text
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));
}

describe('one job id end to end', () => {
  it('a job id answered before a daemon SIGKILL is found by get_job after a restart on the same state dir', async () => {
    await stack(100);
    const first = await daemon();
    const started = await first.call('generate_sprite', {
      prompt: 'slime king',
      steps: 10,
      wait_s: 0,
    });
    const { job_id: jobId, status } = started.structuredContent as Job;
    expect(status, JSON.stringify(started.content)).toMatch(/queued|running/);
    // the journal knows the job under the id the client holds, and the worker has started it
    await until(
      async () => (await journal()).some((r) => r.jobId === jobId && r.status === 'running'),
      'the journal showing the job running under the client’s id',
    );
    const pid = first.transport.pid;
    if (pid === null) throw new Error('no daemon pid');
    process.kill(pid, 'SIGKILL');
    daemons.splice(0);
    await until(
      async () => (await journal()).length > 0 && worker !== undefined,
      'journal present',
    );
    const outDir = join(dir, 'worker-out');
    await until(
      async () =>
        (await import('node:fs/promises'))
          .readdir(outDir)
          .then((names) => names.some((n) => n.startsWith(jobId) && n.endsWith('.png'))),
      'the worker finishing the job after the daemon died',
      15_000,
    );

    const again = await daemon();
    let view: Job | undefined;
    await until(async () => {
      const r = await again.call('get_job', { job_id: jobId });
      expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
      view = r.structuredContent as Job;
      return view.status === 'success';
    }, `get_job ${jobId} answering success after the restart`);
    expect(view).toMatchObject({ job_id: jobId, status: 'success' });
    const png = await readFile(view?.output_path as string);
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
  });
});

describe('rebuild_sprites over MCP', () => {
  it('shares the daemon’s worker pool and journal: a running job is not marked "daemon restarted"', async () => {
    await stack(60);
    await writeFile(
      join(dir, 'sprites.yaml'),
      [
        'version: 1',
        'defaults:',
        '  resolution: [64, 64]',
        '  steps: 10',
        '  size: [16, 16]',
        'sprites:',
        '  - name: coin',
        '    prompt: gold coin',
        '    seed: 7',
        '',
      ].join('\n'),
    );
    const d = await daemon();
    const started = await d.call('generate_sprite', { prompt: 'slime king', steps: 20, wait_s: 0 });
    const { job_id: jobId } = started.structuredContent as Job;
    await until(
      async () => (await journal()).some((r) => r.status === 'running'),
      'the first job running',
    );
    const rebuilt = await d.call('rebuild_sprites', {});
    expect(rebuilt.isError, JSON.stringify(rebuilt.content)).toBeFalsy();
    expect(rebuilt.structuredContent).toMatchObject({ rebuilt: ['coin'], failed: [] });
    const waited = await d.call('wait_job', { job_id: jobId, timeout_s: 20 });
    expect(waited.structuredContent).toMatchObject({ status: 'success' });
    const lines = await journal();
    expect(lines.filter((l) => /restarted/.test(l.error ?? ''))).toEqual([]);
    // every job of this daemon (the generation and the rebuild's) ends completed in the journal
    const last = new Map(lines.map((l) => [l.jobId, l.status]));
    expect([...last.values()]).toEqual(['completed', 'completed']);
    expect(last.get(jobId)).toBe('completed');
  });
});
