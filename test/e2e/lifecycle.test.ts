import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningWorker, startWorker } from '../../daemon/src/embedded-worker/index.js';
import { silentLogger } from '../../daemon/src/log.js';
import { tempDir } from '../support/temp-dir.js';
import { CLI, startDaemon, until } from './support/daemon.js';

let worker: RunningWorker | undefined;
let dir: string;
afterEach(async () => {
  await worker?.close();
});

async function setUp(stepMs: number) {
  dir = tempDir('dgx-life-');
  worker = await startWorker({
    req: 'tcp://127.0.0.1:*',
    engine: 'procedural',
    stepMs,
    outputDir: join(dir, 'w'),
    logger: silentLogger,
  });
  return worker;
}

/** Exit code of the daemon child, or a rejection naming the deadline. */
function exitOf(
  child: { once(e: 'exit', l: (code: number | null) => void): unknown },
  ms: number,
): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`daemon did not exit within ${ms} ms`)), ms);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

describe('serve over stdio: process lifecycle', () => {
  it('writes nothing but JSON-RPC on stdout and exits 0 on stdin EOF', async () => {
    const w = await setUp(5);
    const child = spawn(process.execPath, [CLI, 'serve', '--state-dir', join(dir, 'state')], {
      env: {
        PATH: process.env.PATH ?? '',
        DGX_PIXELS_ZMQ_ENDPOINT: w.reqEndpoint,
        DGX_PIXELS_ZMQ_PUB_ENDPOINT: w.pubEndpoint,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
    });
    const init = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: {
        protocolVersion: '2025-11-25',
        capabilities: {},
        clientInfo: { name: 'raw', version: '1' },
      },
    };
    child.stdin.write(`${JSON.stringify(init)}\n`);
    child.stdin.write(
      `${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`,
    );
    child.stdin.write(
      `${JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'get_status', arguments: {} } })}\n`,
    );
    await until(
      () => stdout.split('\n').filter(Boolean).length >= 2,
      'two JSON-RPC replies on stdout',
    );
    const exited = exitOf(child, 5000);
    child.stdin.end();
    expect(await exited).toBe(0);
    const lines = stdout.split('\n').filter(Boolean);
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ jsonrpc: '2.0' });
    // Replies to both requests; anything else is a notification (the tool-call log message).
    const messages = lines.map((l) => JSON.parse(l) as { id?: number; method?: string });
    expect(messages.filter((m) => m.id !== undefined).map((m) => m.id)).toEqual([1, 2]);
    expect(
      messages.filter((m) => m.id === undefined).every((m) => m.method === 'notifications/message'),
    ).toBe(true);
  });

  it('on SIGTERM cancels its running jobs on the worker and exits', async () => {
    const w = await setUp(200);
    const daemon = await startDaemon({ dir, req: w.reqEndpoint, pub: w.pubEndpoint });
    const started = await daemon.call('generate_sprite', { prompt: 'slow dragon', wait_s: 0.3 });
    expect(started.structuredContent).toMatchObject({ status: 'running' });
    const pid = daemon.transport.pid;
    if (pid === null) throw new Error('daemon has no pid');
    // An observer daemon sees the worker's queue.
    await mkdir(`${dir}/obs`);
    const observer = await startDaemon({
      dir: `${dir}/obs`,
      req: w.reqEndpoint,
      pub: w.pubEndpoint,
    });
    const busy = (await observer.call('get_status')).structuredContent as {
      workers: { active_jobs: number }[];
    };
    expect(busy.workers[0]?.active_jobs).toBe(1);
    process.kill(pid, 'SIGTERM');
    await until(
      () => {
        try {
          process.kill(pid, 0);
          return false;
        } catch {
          return true;
        }
      },
      'the daemon to exit after SIGTERM',
      5000,
    );
    await until(
      async () => {
        const st = (await observer.call('get_status')).structuredContent as {
          workers: { active_jobs: number }[];
        };
        return st.workers[0]?.active_jobs === 0;
      },
      'the worker to end the cancelled job',
      5000,
    );
    expect(daemon.stderr()).toContain('INFO - dgx-pixels - stopping why=SIGTERM');
    await observer.close();
    await daemon.close().catch(() => undefined);
  });
});
