import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../daemon/src/config/load.js';
import { generate, tempDir, WireClient } from './wire-client.js';

const TSX = join(PACKAGE_ROOT, 'node_modules/.bin/tsx');
const CLI = join(PACKAGE_ROOT, 'daemon/src/cli.ts');
const children: ChildProcess[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  for (const c of cleanups.splice(0).reverse()) await c();
});

function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('DGX_PIXELS_')),
  );
}

/** Spawn `dgx-pixels worker ...`; collects stderr; resolves on exit with code and stderr. */
function spawnWorker(args: string[]): {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
} {
  const child = spawn(TSX, [CLI, 'worker', ...args], {
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stderr: () => err, exited };
}

async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Wait for the ready line; returns its match (1: req, 2: pub, 3: output dir). */
function waitReady(w: ReturnType<typeof spawnWorker>): Promise<RegExpExecArray> {
  return within(
    (async () => {
      for (;;) {
        const m =
          /dgx-pixels worker ready req=(\S+) pub=(\S+) engine=procedural slots=1 output=(\S+)/.exec(
            w.stderr(),
          );
        if (m) return m;
        if (w.child.exitCode !== null) throw new Error(`worker exited early: ${w.stderr()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    })(),
    20_000,
    'the "dgx-pixels worker ready" line',
  );
}

/** `dgx-pixels worker` on free loopback ports, writing into `outputDir`, `stepMs` per step. */
function spawnOnFreePorts(outputDir: string, stepMs: number): ReturnType<typeof spawnWorker> {
  return spawnWorker([
    '--req',
    'tcp://127.0.0.1:*',
    '--pub',
    'tcp://127.0.0.1:*',
    '--output-dir',
    outputDir,
    '--step-ms',
    String(stepMs),
  ]);
}

describe('dgx-pixels worker (CLI)', () => {
  it('prints the ready line, serves, and ends a running job with job_error on SIGTERM', async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.remove);
    const w = spawnOnFreePorts(tmp.dir, 50);
    const ready = await waitReady(w);
    expect(ready[3]).toBe(tmp.dir);
    const client = await WireClient.connect(ready[1] as string, ready[2] as string);
    cleanups.push(() => client.close());
    expect(await client.request({ type: 'ping' })).toEqual({ type: 'pong' });
    const req = generate({ steps: 200 });
    await client.request(req);
    await client.until(
      (u) => u.some((m) => m.job_id === req.id && m.type === 'progress'),
      'progress of the job',
    );
    w.child.kill('SIGTERM');
    const msgs = await client.terminal(req.id as string, 15_000).catch((err: Error) => {
      throw new Error(`${err.message}; worker stderr: ${w.stderr().slice(-500)}`);
    });
    expect(msgs.at(-2)).toMatchObject({ type: 'job_finished', success: false });
    expect(String(msgs.at(-1)?.error)).toContain('Worker shutting down');
    expect(await within(w.exited, 15_000, 'worker exit after SIGTERM')).toBe(0);
    expect(w.stderr()).toContain('SIGTERM received, stopping');
  });

  it('keeps answering pings while it renders a large animation strip (worker in its own process)', async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.remove);
    const w = spawnOnFreePorts(tmp.dir, 0);
    const ready = await waitReady(w);
    const client = await WireClient.connect(ready[1] as string, ready[2] as string);
    cleanups.push(() => client.close());
    const req = generate({ size: [1024, 1024], animation_frames: 12, steps: 1 });
    await client.request(req);
    await client.until(
      (u) => u.some((m) => m.job_id === req.id && m.stage === 'decoding'),
      'decoding stage',
    );
    const latencies: number[] = [];
    const renderStart = performance.now();
    while (!client.of(req.id as string).some((m) => m.type === 'job_complete')) {
      const t0 = performance.now();
      expect(await client.request({ type: 'ping' })).toEqual({ type: 'pong' });
      latencies.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 10));
      if (latencies.length > 3000) throw new Error('job_complete did not arrive');
    }
    const renderMs = performance.now() - renderStart;
    expect(latencies.length).toBeGreaterThan(3);
    // A render that blocked the event loop would hold one ping for (nearly) the whole
    // render. Relative to the render time, so a loaded machine slows both alike.
    expect(
      Math.max(...latencies),
      `render ${Math.round(renderMs)} ms; ping latencies ${latencies.map(Math.round).join(' ')}`,
    ).toBeLessThan(Math.max(300, renderMs * 0.35));
    w.child.kill('SIGTERM');
    await within(w.exited, 15_000, 'worker exit after SIGTERM');
  });

  it.each([
    [
      ['--req', 'tcp://0.0.0.0:5599'],
      'refusing to bind the worker req socket on tcp://0.0.0.0:5599',
    ],
    [['--engine', 'stablediffusion'], 'config key worker.engine (from flag --engine) is invalid'],
    [['--slots', 'many'], 'config key worker.slots (from flag --slots) is invalid'],
  ])('refuses %j with a message and exit code 1', async (args, text) => {
    const w = spawnWorker(args);
    expect(await within(w.exited, 20_000, 'worker exit')).toBe(1);
    expect(w.stderr()).toContain(text);
  });
});
