import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type FakeWorker, startFakeWorker } from '../support/fake-worker.js';
import { deadEndpoint } from '../support/ports.js';
import { tempDir } from '../support/temp-dir.js';
import { within } from '../support/wait.js';

const ROOT = join(import.meta.dirname, '../..');
let workers: FakeWorker[] = [];
afterEach(async () => {
  for (const w of workers) await w.close();
  workers = [];
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Run `dgx-pixels doctor ARGS` from source (tsx) as a real process with a clean DGX_PIXELS_* env. */
function doctor(args: string[], env: Record<string, string>): Promise<Run> {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('DGX_PIXELS_')),
  );
  const t0 = Date.now();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'daemon/src/cli.ts'), 'doctor', ...args],
    {
      cwd: ROOT,
      env: { ...clean, ...env },
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  return within(
    new Promise<Run>((resolve) =>
      child.on('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - t0 })),
    ),
    'doctor did not exit',
    20_000,
  );
}

describe('dgx-pixels doctor', () => {
  it('passes against a running worker and shows where each value came from', async () => {
    const worker = await startFakeWorker();
    workers.push(worker);
    const assets = tempDir('doctor-test-');
    const run = await doctor(['--json', '--zmq-endpoint', worker.req, '--assets', assets], {
      DGX_PIXELS_ZMQ_PUB_ENDPOINT: worker.pub,
      DGX_PIXELS_STATE_DIR: join(tempDir('doctor-test-'), 'state'),
    });
    expect(run.stderr).toBe('');
    const report = JSON.parse(run.stdout) as {
      ok: boolean;
      config: { key: string; value: unknown; source: string }[];
      checks: { name: string; status: string; detail: string }[];
    };
    expect(run.code).toBe(0);
    expect(report.ok).toBe(true);
    expect(report.config.find((c) => c.key === 'backend.zmq_endpoint')).toEqual({
      key: 'backend.zmq_endpoint',
      value: worker.req,
      source: 'flag --zmq-endpoint',
    });
    expect(report.config.find((c) => c.key === 'backend.zmq_pub_endpoint')?.source).toBe(
      'env DGX_PIXELS_ZMQ_PUB_ENDPOINT',
    );
    expect(report.config.find((c) => c.key === 'backend.health_interval_ms')?.source).toBe(
      'default',
    );
    const byName = Object.fromEntries(report.checks.map((c) => [c.name, c]));
    expect(byName[`worker ${worker.req}`]?.status).toBe('ok');
    expect(byName[`worker ${worker.req}`]?.detail).toMatch(
      /^v1\.0\.0, ping [\d.]+ ms, queue 0, active 0, up \d+ s; 3 models \(checkpoint 1, lora 1, vae 1\); job_status extension: no$/,
    );
    expect(byName[`updates ${worker.pub}`]?.status).toBe('ok');
    expect(byName.assets).toEqual({
      name: 'assets',
      status: 'ok',
      detail: `${assets} is writable`,
    });
    expect(byName.comfyui?.status).toBe('skip');
    expect(worker.requestsOf('ping')).toHaveLength(2);
    expect(worker.requestsOf('list_models')).toHaveLength(1);
  });

  it('fails fast on a dead worker, ComfyUI and assets dir with the fix on each line', async () => {
    const req = await deadEndpoint();
    const comfyPort = (await deadEndpoint()).split(':').at(-1);
    const args = [
      '--zmq-endpoint',
      req,
      '--assets',
      join(tempDir('doctor-test-'), 'missing'),
      '--comfyui-url',
      `http://127.0.0.1:${comfyPort}`,
    ];
    const run = await doctor(args, {
      DGX_PIXELS_STATE_DIR: tempDir('doctor-test-'),
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`FAIL  worker ${req}`);
    expect(run.stdout).toContain(
      `Backend connection failed: no DGX worker answered at ${req} within 250 ms; start it (dgx-pixels worker) or check backend.zmq_endpoint`,
    );
    expect(run.stdout).toMatch(
      /FAIL {2}assets +\S+missing does not exist; create it or fix deployment\.bevy_assets_base/,
    );
    expect(run.stdout).toMatch(
      /FAIL {2}comfyui http:\/\/127\.0\.0\.1:\d+ +GET http:\/\/127\.0\.0\.1:\d+\/system_stats failed \(.*ECONNREFUSED.*\); start ComfyUI or fix\/unset backend\.comfyui_url/,
    );
    // tsx start-up dominates; the checks themselves take about 300 ms
    expect(run.ms).toBeLessThan(8000);
  });

  it('exits 2 with the config error on stderr', async () => {
    const run = await doctor([], { DGX_PIXELS_BACKEND_TIMEOUT_S: 'abc' });
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      'dgx-pixels doctor: config key backend.timeout_s (from env DGX_PIXELS_BACKEND_TIMEOUT_S) is invalid: Invalid input: expected number, received string; got "abc"\n',
    );
  });
});
