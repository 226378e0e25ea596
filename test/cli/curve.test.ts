import { spawn } from 'node:child_process';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { curveKeyPair } from 'zeromq';
import {
  loadSecretKey,
  newKeyPair,
  publicKeyOf,
  z85Decode,
  z85Encode,
} from '../../daemon/src/config/curve-keys.js';
import { type RunningWorker, startWorker } from '../../daemon/src/embedded-worker/index.js';
import { silentLogger } from '../../daemon/src/log.js';
import { type CurveFixture, curveFixture } from '../support/curve.js';
import { within } from '../support/wait.js';

// `dgx-pixels keys` and the CURVE lines of `dgx-pixels doctor`, as real processes of the built CLI.

const CLI = join(import.meta.dirname, '../../daemon/dist/cli.js');
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function fixture(): CurveFixture {
  const f = curveFixture();
  cleanups.push(() => f.remove());
  return f;
}

function cli(
  args: string[],
  cwd: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('DGX_PIXELS_')),
  );
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env: clean });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  return within(
    new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr }))),
    `dgx-pixels ${args.join(' ')} did not exit`,
    20_000,
  );
}

const mode = (path: string) => statSync(path).mode & 0o777;

describe('CURVE key files', () => {
  it('reads and writes Z85 the way libzmq does, and derives the public key from the secret one', () => {
    for (let i = 0; i < 20; i++) {
      const pair = curveKeyPair();
      expect(z85Encode(z85Decode(pair.secretKey))).toBe(pair.secretKey);
      expect(publicKeyOf(pair.secretKey)).toBe(pair.publicKey);
      const ours = newKeyPair();
      expect(publicKeyOf(ours.secretKey)).toBe(ours.publicKey);
    }
    // RFC 32's test vector
    expect(z85Encode(Buffer.from([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]))).toBe(
      'HelloWorld',
    );
  });

  it('keys generate writes NAME.key 0600 and NAME.pub, refuses to overwrite, rotates with --force', async () => {
    const f = fixture();
    const first = await cli(['keys', 'generate', 'studio', '--dir', 'k'], f.dir);
    expect(first.code, first.stderr).toBe(0);
    const key = join(f.dir, 'k/studio.key');
    const pub = join(f.dir, 'k/studio.pub');
    expect(mode(key)).toBe(0o600);
    expect(mode(join(f.dir, 'k'))).toBe(0o700);
    const publicKey = readFileSync(pub, 'utf8').split('\n')[1] as string;
    expect(publicKey).toMatch(/^\S{40}$/);
    expect(loadSecretKey(key, 'test').publicKey).toBe(publicKey);
    expect(first.stdout).toContain(`public key: ${pub} (${publicKey})`);

    const again = await cli(['keys', 'generate', 'studio', '--dir', 'k'], f.dir);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`${key} already exists; pass --force to replace the key pair`);
    expect(readFileSync(pub, 'utf8')).toContain(publicKey);

    chmodSync(key, 0o644); // someone loosened it: rotation writes a 0600 key anyway
    const rotated = await cli(['keys', 'generate', 'studio', '--dir', 'k', '--force'], f.dir);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(mode(key)).toBe(0o600);
    expect(readFileSync(pub, 'utf8')).not.toContain(publicKey);
  });

  it('keys show refuses a secret key others can read, with the chmod fix', async () => {
    const f = fixture();
    chmodSync(f.daemonKey, 0o644);
    const shown = await cli(['keys', 'show', f.daemonKey], f.dir);
    expect(shown.code).toBe(1);
    expect(shown.stderr).toContain(
      `its mode is 0644, so other users can read it; run: chmod 600 ${f.daemonKey}`,
    );
    chmodSync(f.daemonKey, 0o600);
    const ok = await cli(['keys', 'show', f.daemonKey], f.dir);
    expect(ok.stdout).toContain(`secret key OK (mode 0600); public key ${f.client().publicKey}`);
    expect((await cli(['keys', 'generate', '../x'], f.dir)).stderr).toContain(
      'key name "../x" must be',
    );
  });
});

describe('doctor and CURVE', () => {
  async function curveWorker(f: CurveFixture): Promise<RunningWorker> {
    const w = await startWorker({
      req: 'tcp://127.0.0.1:*',
      outputDir: join(f.dir, 'out'),
      curveKeyFile: f.workerKey,
      allowKeysDir: f.allowDir,
      logger: silentLogger,
    });
    cleanups.push(() => w.close());
    return w;
  }

  function config(f: CurveFixture, w: RunningWorker, key: 'daemon' | 'stranger'): string {
    const file = join(f.dir, `${key}.yaml`);
    writeFileSync(
      file,
      `backend:\n  zmq_endpoint: "${w.reqEndpoint}"\n  zmq_pub_endpoint: "${w.pubEndpoint}"\n  ping_timeout_ms: 5000\n` +
        `  curve:\n    client_key_file: keys/${key}.key\n    server_public_key_file: keys/worker.pub\n` +
        `state_dir: "${join(f.dir, 'state')}"\n`,
    );
    return file;
  }

  it('shows the link encrypted, with whose key, and the worker checks pass', async () => {
    const f = fixture();
    const w = await curveWorker(f);
    const run = await cli(['doctor', '--config', config(f, w, 'daemon'), '--json'], f.dir);
    const report = JSON.parse(run.stdout) as {
      checks: { name: string; status: string; detail: string }[];
    };
    const byName = (n: string) => report.checks.find((c) => c.name === n);
    expect(byName(`link ${w.reqEndpoint}`)).toEqual({
      name: `link ${w.reqEndpoint}`,
      status: 'ok',
      detail: expect.stringContaining(
        `encrypted (CURVE) with this daemon's key ${f.daemonKey} (public ${f.client().publicKey}, from backend.curve.client_key_file)`,
      ),
    });
    expect(byName(`worker ${w.reqEndpoint}`)?.status).toBe('ok');
    expect(byName(`updates ${w.pubEndpoint}`)?.status).toBe('ok');
  });

  it('fails the worker with the fix when it does not accept the key', async () => {
    const f = fixture();
    const w = await curveWorker(f);
    const run = await cli(['doctor', '--config', config(f, w, 'stranger')], f.dir);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      new RegExp(
        `FAIL +worker ${w.reqEndpoint} +Backend connection failed: worker ${w.reqEndpoint} did not accept this daemon's key`,
      ),
    );
    expect(run.stdout).toContain("add stranger.pub to the worker's --allow-keys folder");
  });

  it('warns about a plaintext link to a non-loopback address, with both fixes', async () => {
    const f = fixture();
    const file = join(f.dir, 'remote.yaml');
    // TEST-NET-1: nothing answers; the link line is about the configuration alone
    writeFileSync(
      file,
      `backend:\n  zmq_endpoint: "tcp://192.0.2.1:5555"\nstate_dir: "${join(f.dir, 'state')}"\n`,
    );
    const run = await cli(['doctor', '--config', file, '--json'], f.dir);
    const report = JSON.parse(run.stdout) as {
      checks: { name: string; status: string; detail: string }[];
    };
    expect(report.checks.find((c) => c.name === 'link tcp://192.0.2.1:5555')).toEqual({
      name: 'link tcp://192.0.2.1:5555',
      status: 'warn',
      detail: expect.stringMatching(
        /^plaintext to a non-loopback address .*backend\.curve.*SSH tunnel/,
      ),
    });
  });
});
