import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningWorker, startWorker } from '../../daemon/src/embedded-worker/index.js';
import { silentLogger } from '../../daemon/src/log.js';
import { type CurveFixture, curveFixture } from '../support/curve.js';
import { within } from '../support/wait.js';
import { CLI, type Daemon, startDaemon } from './support/daemon.js';

// The built daemon (`serve` over stdio, SDK Client) against the embedded worker with CURVE.
// The daemon's key paths are relative in its config file (resolved against the file's folder).

let f: CurveFixture;
let worker: RunningWorker | undefined;
const daemons: Daemon[] = [];
afterEach(async () => {
  for (const d of daemons.splice(0)) await d.close().catch(() => undefined);
  await worker?.close();
  worker = undefined;
  f.remove();
});

async function setUp(): Promise<RunningWorker> {
  f = curveFixture();
  mkdirSync(join(f.dir, 'assets'));
  worker = await startWorker({
    req: 'tcp://127.0.0.1:*',
    stepMs: 5,
    outputDir: join(f.dir, 'worker-out'),
    curveKeyFile: f.workerKey,
    allowKeysDir: f.allowDir,
    logger: silentLogger,
  });
  return worker;
}

/** A config file in the fixture dir; `curve` is the daemon key name, or none for plaintext. */
function configFile(name: string, curve: 'daemon' | 'stranger' | undefined): string {
  const file = join(f.dir, `${name}.yaml`);
  // long time-outs: a refusal reported within seconds can only come from the handshake
  let text =
    'backend:\n  ping_timeout_ms: 30000\n  request_timeout_ms: 30000\n  health_interval_ms: 60000\n';
  if (curve !== undefined)
    text += `  curve:\n    client_key_file: keys/${curve}.key\n    server_public_key_file: keys/worker.pub\n`;
  writeFileSync(file, text);
  return file;
}

async function daemon(name: string, curve: 'daemon' | 'stranger' | undefined): Promise<Daemon> {
  const w = worker as RunningWorker;
  const d = await startDaemon({
    dir: f.dir,
    req: w.reqEndpoint,
    pub: w.pubEndpoint,
    args: ['--config', configFile(name, curve), '--state-dir', join(f.dir, `state-${name}`)],
  });
  daemons.push(d);
  return d;
}

const text = (r: CallToolResult): string =>
  r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');

describe('serve with CURVE to the embedded worker', () => {
  it('generates end to end over the encrypted link, progress included', async () => {
    await setUp();
    const d = await daemon('allowed', 'daemon');
    const progress: number[] = [];
    const result = (await d.client.callTool(
      {
        name: 'generate_sprite',
        arguments: { prompt: 'knight with a sword', size: [32, 32], steps: 20, seed: 3 },
      },
      undefined,
      { onprogress: (p) => progress.push(p.progress) },
    )) as CallToolResult;
    const s = result.structuredContent as Record<string, unknown>;
    expect(s, text(result)).toMatchObject({ status: 'success', width: 32, height: 32 });
    expect(existsSync(s.raw_path as string)).toBe(true);
    // progress notifications come only from the worker's PUB updates
    expect(progress.length).toBeGreaterThan(3);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
  });

  it.each([
    [
      'an unlisted key',
      'stranger',
      "did not accept this daemon's key (backend.curve.client_key_file = ",
    ],
    [
      'no key (plaintext)',
      undefined,
      'requires CURVE encryption and this daemon has no key for it',
    ],
  ] as const)(
    'tells a daemon with %s why the worker does not answer, within seconds',
    async (_, key, why) => {
      await setUp();
      const d = await daemon(key ?? 'plain', key);
      const result = (await within(
        d.call('generate_sprite', { prompt: 'knight with a sword', size: [32, 32] }),
        'generate_sprite answer',
        10_000,
      )) as CallToolResult;
      expect(result.isError, text(result)).toBe(true);
      expect(text(result)).toContain(why);
      if (key === 'stranger')
        expect(text(result)).toContain("add stranger.pub to the worker's --allow-keys folder");
      const status = (await within(
        d.call('get_status'),
        'get_status answer',
        10_000,
      )) as CallToolResult;
      expect(text(status)).toContain(why);
    },
  );

  it('refuses to start with a secret key others can read, naming the chmod fix', async () => {
    await setUp();
    chmodSync(f.daemonKey, 0o644);
    const child = spawn(
      process.execPath,
      [
        CLI,
        'serve',
        '--config',
        configFile('loose', 'daemon'),
        '--state-dir',
        join(f.dir, 'state-loose'),
      ],
      { env: { PATH: process.env.PATH ?? '' }, stdio: ['pipe', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    const code = await within(
      new Promise<number | null>((resolve) => child.on('exit', resolve)),
      'serve exit',
      15_000,
    );
    expect(code).not.toBe(0);
    expect(stderr).toContain(
      `its mode is 0644, so other users can read it; run: chmod 600 ${f.daemonKey}`,
    );
  });
});
