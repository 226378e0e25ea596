import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Request, Subscriber } from 'zeromq';
import { generateKeyFiles } from '../../daemon/src/config/curve-keys.js';
import { loadConfig, workerEndpoints } from '../../daemon/src/config/load.js';
import {
  type RunningWorker,
  startWorker,
  type WorkerOptions,
} from '../../daemon/src/embedded-worker/index.js';
import type { Logger } from '../../daemon/src/log.js';
import { encode } from '../../daemon/src/protocol/codec.js';
import { clientOptionsFromConfig } from '../../daemon/src/worker-client/client-options.js';
import type { CurveClientKeys } from '../../daemon/src/worker-client/curve-link.js';
import { isPng } from '../../daemon/src/worker-client/image-fetch.js';
import type { JobEvent } from '../../daemon/src/worker-client/types.js';
import { WorkerClient } from '../../daemon/src/worker-client/worker-client.js';
import { type CurveFixture, curveFixture, tapProxy } from '../support/curve.js';
import { freePorts } from '../support/ports.js';
import { tempDir } from '../support/temp-dir.js';
import { within } from '../support/wait.js';

// CURVE on real loopback sockets: the embedded worker as a CURVE server with a ZAP allow-list,
// WorkerClient as a CURVE client. Time-outs are set long (10 s) where a test checks that a
// refusal is reported at once: only the handshake event can make it fail within 5 s.

const params = {
  prompt: 'a secret purple dragon',
  model: 'm',
  size: [64, 64],
  steps: 12,
  cfgScale: 7,
} as const;
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function fixture(): CurveFixture {
  const f = curveFixture();
  cleanups.push(() => f.remove());
  return f;
}

function logLines(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const raw: string[] = [];
  const logger: Logger = pino({ level: 'info' }, { write: (line: string) => raw.push(line) });
  return { logger, lines: () => raw.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

async function worker(
  f: CurveFixture | undefined,
  extra: WorkerOptions = {},
): Promise<RunningWorker> {
  const outputDir = tempDir('dgx-curve-out-');
  const w = await startWorker({
    req: 'tcp://127.0.0.1:*',
    stepMs: 5,
    outputDir,
    ...(f === undefined ? {} : { curveKeyFile: f.workerKey, allowKeysDir: f.allowDir }),
    ...extra,
  });
  cleanups.push(() => w.close());
  return w;
}

function client(
  w: { reqEndpoint: string; pubEndpoint: string },
  curve: CurveClientKeys | undefined,
  timeoutMs = 10_000,
): WorkerClient {
  const c = new WorkerClient({
    req: w.reqEndpoint,
    pub: w.pubEndpoint,
    curve,
    pingTimeoutMs: timeoutMs,
    requestTimeoutMs: timeoutMs,
    maxRetries: 0,
  });
  cleanups.push(() => c.close());
  return c;
}

async function runJob(
  c: WorkerClient,
): Promise<{ events: JobEvent[]; image: Uint8Array | undefined }> {
  const job = await c.generate({ ...params, size: [64, 64] });
  const events: JobEvent[] = [];
  for await (const e of job) events.push(e);
  const result = await within(job.result, 'job did not end', 15_000);
  expect(result.status).toBe('completed');
  return { events, image: result.status === 'completed' ? result.image : undefined };
}

describe('CURVE between WorkerClient and the embedded worker', () => {
  it.each([
    ['plaintext', false],
    ['CURVE', true],
  ])(
    'runs a job with progress and the inline image (%s); the wire shows the prompt only in plaintext',
    async (_, curve) => {
      const f = fixture();
      const w = await worker(curve ? f : undefined);
      const req = await tapProxy(w.reqEndpoint);
      const pub = await tapProxy(w.pubEndpoint);
      cleanups.push(req.close, pub.close);
      const c = client(
        { reqEndpoint: req.endpoint, pubEndpoint: pub.endpoint },
        curve ? f.client() : undefined,
      );
      const { events, image } = await runJob(c);
      expect(events.filter((e) => e.kind === 'progress').length).toBeGreaterThan(2);
      expect(image !== undefined && isPng(image)).toBe(true);
      const wire = Buffer.concat([req.bytes(), pub.bytes()]);
      expect(wire.length).toBeGreaterThan(1000);
      // the tap sees every byte: in plaintext the prompt, the update types and the PNG header are there
      for (const visible of [params.prompt, 'job_complete', 'progress', 'IHDR'])
        expect(wire.includes(visible), visible).toBe(!curve);
      expect(wire.includes('CURVE')).toBe(curve); // the ZMTP greeting names the mechanism
    },
  );

  it('gives an unlisted key and a plaintext client no answer and no updates, and logs each refused key once', async () => {
    const f = fixture();
    const { logger, lines } = logLines();
    const w = await worker(f, { logger });
    const stranger = f.client('stranger');
    const subs = [
      new Subscriber({ linger: 0, receiveTimeout: 300 }),
      new Subscriber({
        linger: 0,
        receiveTimeout: 300,
        curveServerKey: stranger.serverKey,
        curvePublicKey: stranger.publicKey,
        curveSecretKey: stranger.secretKey,
      }),
    ];
    const plainReq = new Request({ linger: 0, receiveTimeout: 300, sendTimeout: 300 });
    cleanups.push(() => {
      for (const s of [...subs, plainReq]) s.close();
    });
    for (const s of subs) {
      s.subscribe();
      s.connect(w.pubEndpoint);
    }
    plainReq.connect(w.reqEndpoint);
    const allowed = client(w, f.client());
    const { events } = await runJob(allowed);
    expect(events.filter((e) => e.kind === 'progress').length).toBeGreaterThan(2);
    // the allowed daemon's job published a full sequence; neither refused SUB got a frame of it
    for (const s of subs) await expect(s.receive()).rejects.toMatchObject({ code: 'EAGAIN' });
    await expect(
      (async () => {
        await plainReq.send(encode({ type: 'ping' }));
        return plainReq.receive();
      })(),
    ).rejects.toMatchObject({ code: 'EAGAIN' });
    // three separate connections with the stranger key: one log line for that key
    for (let i = 0; i < 3; i++) {
      const c = client(w, stranger);
      await expect(within(c.ping(), 'refusal', 5000)).rejects.toThrow(
        "did not accept this daemon's key",
      );
      c.close();
    }
    const refusals = lines().filter((l) =>
      String(l.msg).startsWith('refused a client whose CURVE key'),
    );
    expect(refusals).toHaveLength(1);
    expect(refusals[0]?.key).toBe(stranger.publicKey);
    // A plaintext client never reaches ZAP (it has no key); the worker logs it when libzmq
    // reports the failed handshake, which libzmq does not do for every such connection (seen:
    // about half the runs): never more than once, and never an answer (checked above).
    expect(
      lines().filter((l) => String(l.msg).startsWith('refused a client without CURVE')).length,
    ).toBeLessThanOrEqual(1);
  });

  it('says at once that the worker did not accept the key, and which file to add', async () => {
    const f = fixture();
    const w = await worker(f);
    const c = client(w, f.client('stranger'));
    const err = await within(
      c.ping().catch((e: unknown) => e),
      'ping refusal',
      5000,
    );
    expect(String(err)).toContain(
      `Backend connection failed: worker ${w.reqEndpoint} did not accept this daemon's key (backend.curve.client_key_file = ${f.strangerKey}); ` +
        "add stranger.pub to the worker's --allow-keys folder",
    );
    expect(err).toMatchObject({ code: 'WORKER_UNREACHABLE' });
    // a generate fails the same way, and is not left queued anywhere
    await expect(
      within(c.generate({ ...params, size: [64, 64] }), 'generate refusal', 5000),
    ).rejects.toThrow('did not accept');
  });

  it('tells a plaintext daemon that the worker requires CURVE, and which settings to add', async () => {
    const f = fixture();
    const w = await worker(f);
    const c = client(w, undefined);
    await expect(within(c.status(), 'status refusal', 5000)).rejects.toThrow(
      `worker ${w.reqEndpoint} requires CURVE encryption and this daemon has no key for it; set backend.curve.client_key_file`,
    );
  });

  it('tells a CURVE daemon that the worker speaks plaintext', async () => {
    const f = fixture();
    const w = await worker(undefined);
    const c = client(w, f.client());
    await expect(within(c.ping(), 'ping refusal', 5000)).rejects.toThrow(
      `worker ${w.reqEndpoint} does not use CURVE (it speaks plaintext) but backend.curve is set`,
    );
  });

  it('points at server_public_key_file when it is not the worker key', async () => {
    const f = fixture();
    const w = await worker(f);
    const c = client(w, f.client('daemon', f.strangerPub));
    await expect(within(c.ping(), 'ping refusal', 5000)).rejects.toThrow(
      `backend.curve.server_public_key_file (${f.strangerPub}) is most likely not that worker's public key`,
    );
  });

  it('picks up a key rotated on disk when the daemon and the worker restart', async () => {
    const f = fixture();
    const [reqPort, pubPort] = await freePorts(2);
    const endpoints = { req: `tcp://127.0.0.1:${reqPort}`, pub: `tcp://127.0.0.1:${pubPort}` };
    const configFile = join(f.dir, 'daemon.yaml');
    // relative paths: resolved against the config file's folder
    writeFileSync(
      configFile,
      `backend:\n  zmq_endpoint: "${endpoints.req}"\n  zmq_pub_endpoint: "${endpoints.pub}"\n  ping_timeout_ms: 10000\n  request_timeout_ms: 10000\n  max_retries: 0\n` +
        '  curve:\n    client_key_file: keys/daemon.key\n    server_public_key_file: keys/worker.pub\n',
    );
    const daemonClient = (): WorkerClient => {
      const { config } = loadConfig({ configPath: configFile, env: {} });
      const [endpoint] = workerEndpoints(config);
      const c = new WorkerClient(clientOptionsFromConfig(config, endpoint as never));
      cleanups.push(() => c.close());
      return c;
    };
    const start = () =>
      startWorker({
        ...endpoints,
        stepMs: 5,
        outputDir: join(f.dir, 'out'),
        curveKeyFile: f.workerKey,
        allowKeysDir: f.allowDir,
      });
    let w = await start();
    cleanups.push(() => w.close());
    const before = daemonClient();
    await before.ping();

    // rotate the daemon key on disk and swap it in the worker's allow folder
    const rotated = generateKeyFiles('daemon', join(f.dir, 'keys'), true);
    copyFileSync(rotated.publicFile, join(f.allowDir, 'daemon.pub'));
    // the running processes keep the keys they started with
    await before.ping();
    await w.close();
    w = await start();
    // the restarted worker lists only the new key: the old daemon is refused, clearly
    await expect(within(before.ping(), 'refusal of the old key', 5000)).rejects.toThrow(
      "did not accept this daemon's key",
    );
    // a restarted daemon reads the new key from disk and gets in
    const after = daemonClient();
    expect(after.curve?.publicKey).toBe(rotated.publicKey);
    await after.ping();
    expect((await runJob(after)).image).toBeDefined();
  });
});

describe('CURVE key files and worker start-up rules', () => {
  it('refuses a secret key others can read, at the worker and at the daemon, with the chmod fix', async () => {
    const f = fixture();
    chmodSync(f.workerKey, 0o640);
    await expect(worker(f)).rejects.toThrow(
      `refusing the secret CURVE key file ${f.workerKey} (--curve-key / worker.curve_key_file): its mode is 0640, so other users can read it; run: chmod 600 ${f.workerKey}`,
    );
    chmodSync(f.daemonKey, 0o604);
    const { config } = loadConfig({
      useDefaultFile: false,
      env: {},
      flags: {
        'backend.curve': [
          '--test',
          { client_key_file: f.daemonKey, server_public_key_file: f.workerPub },
        ],
      },
    });
    expect(() => clientOptionsFromConfig(config, workerEndpoints(config)[0] as never)).toThrow(
      `(backend.curve.client_key_file): its mode is 0604, so other users can read it; run: chmod 600 ${f.daemonKey}`,
    );
  });

  it('needs --allow-keys with --curve-key, and a folder with at least one .pub', async () => {
    const f = fixture();
    await expect(worker(undefined, { curveKeyFile: f.workerKey })).rejects.toThrow(
      '--curve-key (worker.curve_key_file) needs --allow-keys DIR',
    );
    const empty = join(f.dir, 'empty');
    mkdirSync(empty);
    await expect(
      worker(undefined, { curveKeyFile: f.workerKey, allowKeysDir: empty }),
    ).rejects.toThrow(
      `the allowed-keys folder ${empty} (--allow-keys / worker.allow_keys_dir) holds no .pub file`,
    );
    writeFileSync(join(empty, 'bad.pub'), 'not a key\n');
    await expect(
      worker(undefined, { curveKeyFile: f.workerKey, allowKeysDir: empty }),
    ).rejects.toThrow('is not a public CURVE key file: expected one line of 40 Z85 characters');
  });

  it('refuses --bind-public without CURVE unless --insecure, which it logs as a warning', async () => {
    const f = fixture();
    const publicBind = { req: 'tcp://0.0.0.0:*', pub: 'tcp://0.0.0.0:*', bindPublic: true };
    await expect(worker(undefined, publicBind)).rejects.toThrow(
      /refusing to bind the worker req socket on tcp:\/\/0\.0\.0\.0:\* without encryption.*--curve-key FILE --allow-keys DIR.*--insecure/,
    );
    const { logger, lines } = logLines();
    const insecure = await worker(undefined, { ...publicBind, insecure: true, logger });
    expect(insecure.reqEndpoint).toMatch(/^tcp:\/\/0\.0\.0\.0:\d+$/);
    expect(lines()).toContainEqual(
      expect.objectContaining({ level: 40, msg: expect.stringMatching(/^INSECURE/) }),
    );
    const encrypted = await worker(f, publicBind);
    expect(encrypted.curvePublicKey).toBe(f.client().serverKey);
  });
});
