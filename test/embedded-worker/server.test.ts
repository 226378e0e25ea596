import { readFile, stat } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Engine,
  startWorker,
  type WorkerOptions,
} from '../../daemon/src/embedded-worker/index.js';
import { encode } from '../../daemon/src/protocol/codec.js';
import { bootWorker } from './boot-worker.js';
import { generate, jobId, type Msg, tempDir, WireClient } from './wire-client.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const boot = (options: WorkerOptions = {}) => bootWorker(cleanups, { stepMs: 2, ...options });

const types = (msgs: Msg[]): string[] => msgs.map((m) => m.type);

describe('worker wire: simple requests', () => {
  it('answers ping with the exact bytes the Python worker sends', async () => {
    const { client } = await boot();
    const raw = await client.requestRaw({ type: 'ping' });
    expect([...raw]).toEqual([0x81, 0xa4, ...Buffer.from('type'), 0xa4, ...Buffer.from('pong')]);
  });

  it('reports status with the Python key order and counts', async () => {
    const { client } = await boot();
    const reply = await client.request({ type: 'status' });
    expect(Object.keys(reply)).toEqual([
      'type',
      'version',
      'queue_size',
      'active_jobs',
      'uptime_s',
    ]);
    expect(reply).toMatchObject({
      type: 'status_info',
      version: '1.0.0',
      queue_size: 0,
      active_jobs: 0,
    });
  });

  it('lists the engine models sorted case-insensitively by name', async () => {
    const { client } = await boot();
    const reply = await client.request({ type: 'list_models' });
    const models = reply.models as { name: string; model_type: string; size_mb: number }[];
    expect(models.length).toBeGreaterThan(1);
    const names = models.map((m) => m.name);
    expect(names).toEqual(
      [...names].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase())),
    );
    expect(Object.keys(models[0] as object)).toEqual(['name', 'path', 'model_type', 'size_mb']);
    expect(models.some((m) => m.model_type === 'checkpoint')).toBe(true);
  });

  it('replies to a two-frame REQ message once, for the last frame', async () => {
    const { client } = await boot();
    const reply = await client.request([encode({ type: 'frobnicate' }), encode({ type: 'ping' })]);
    expect(reply).toEqual({ type: 'pong' });
  });
});

describe('worker wire: malformed requests get error replies and the worker survives', () => {
  const missing = (fields: Record<string, unknown>, drop: string) => {
    const copy = { ...fields };
    delete copy[drop];
    return encode(copy);
  };
  const full = generate();
  it.each([
    ['garbage byte 0xc1', Uint8Array.of(0xc1), ''],
    ['non-msgpack text', Buffer.from('hello world'), 'unpack(b) received extra data.'],
    ['an empty frame', new Uint8Array(0), 'Unpack failed: incomplete input'],
    ['a truncated map', Uint8Array.of(0x82, 0xa4), 'Unpack failed: incomplete input'],
    ['an array', Uint8Array.of(0x92, 1, 2), "'list' object has no attribute 'get'"],
    [
      'a string',
      Uint8Array.of(0xa4, ...Buffer.from('ping')),
      "'str' object has no attribute 'get'",
    ],
    ['an integer', Uint8Array.of(0x2a), "'int' object has no attribute 'get'"],
    ['nil', Uint8Array.of(0xc0), "'NoneType' object has no attribute 'get'"],
    ['a map without type', encode({ job_id: 'x' }), 'Unknown request type: None'],
    ['an unknown type', encode({ type: 'frobnicate' }), 'Unknown request type: frobnicate'],
    ['a numeric type', encode({ type: 5 }), 'Unknown request type: 5'],
    ['a boolean type', encode({ type: true }), 'Unknown request type: True'],
    ['a list type', encode({ type: [1, 'a'] }), "Unknown request type: [1, 'a']"],
    ['a nil type', encode({ type: null }), 'Unknown request type: None'],
    ['generate without model', missing(full, 'model'), "'model'"],
    ['generate without id', missing(full, 'id'), "'id'"],
    ['generate without cfg_scale', missing(full, 'cfg_scale'), "'cfg_scale'"],
    ['cancel without job_id', encode({ type: 'cancel' }), "'job_id'"],
    ['job_status without job_id', encode({ type: 'job_status' }), "'job_id'"],
  ])('%s → error', async (_name, frame, message) => {
    const { client } = await boot();
    const reply = await client.request(frame);
    expect(reply).toEqual({ type: 'error', message });
    expect(await client.request({ type: 'ping' })).toEqual({ type: 'pong' });
  });

  it.each([
    ['steps as a string', { steps: '20' }, 'steps must be an integer in 1..1000; got "20" (str)'],
    [
      'size with one number',
      { size: [64] },
      'size must be [width, height] with integers in 8..4096',
    ],
    ['cfg_scale as a string', { cfg_scale: 'high' }, 'cfg_scale must be a number'],
    ['tileset_grid zero', { tileset_grid: [0, 2] }, 'tileset_grid must be [cols, rows]'],
  ])('a generate with %s gets job_error and is not queued', async (_name, fields, text) => {
    const { client } = await boot();
    const req = generate(fields);
    const reply = await client.request(req);
    expect(reply.type).toBe('job_error');
    expect(reply.job_id).toBe(req.id);
    expect(reply.error).toContain(text);
    expect(reply.error).toContain('The job was not queued');
    await new Promise((r) => setTimeout(r, 100));
    expect(client.of(req.id as string)).toEqual([]);
    expect(await client.request({ type: 'status' })).toMatchObject({
      queue_size: 0,
      active_jobs: 0,
    });
  });
});

describe('worker wire: a generation', () => {
  /*
   * client                worker REP          worker PUB
   *   |--- generate -------->|                    |
   *   |                      |--- job_started --->|   (before the reply, like Python)
   *   |<-- job_accepted -----|                    |
   *   |                      |    job_started, progress…, job_finished, job_complete
   */
  it('publishes job_started ×2, monotonic progress, job_finished, job_complete, and writes the PNG', async () => {
    const { client, dir } = await boot();
    const req = generate({ steps: 5 });
    const reply = await client.request(req);
    expect(reply).toEqual({ type: 'job_accepted', job_id: req.id, estimated_time_s: 0.5 });
    const msgs = await client.terminal(req.id as string);
    const seq = types(msgs);
    expect(seq.slice(0, 2)).toEqual(['job_started', 'job_started']);
    expect(seq.slice(-2)).toEqual(['job_finished', 'job_complete']);
    const progress = msgs.filter((m) => m.type === 'progress');
    expect(progress.map((p) => p.stage)).toEqual([
      'initializing',
      ...Array(5).fill('sampling'),
      'decoding',
    ]);
    const percents = progress.map((p) => p.percent as number);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    expect(Object.keys(progress[1] as object)).toEqual([
      'type',
      'job_id',
      'stage',
      'step',
      'total_steps',
      'percent',
      'eta_s',
    ]);
    const finished = msgs.at(-2) as Msg;
    expect(Object.keys(finished)).toEqual(['type', 'job_id', 'success', 'duration_s']);
    expect(finished.success).toBe(true);
    const complete = msgs.at(-1) as Msg;
    expect(Object.keys(complete)).toEqual(['type', 'job_id', 'image_path', 'duration_s']);
    expect(complete.image_path).toMatch(new RegExp(`^${dir}/${req.id}_\\d{10}\\.png$`));
    const png = await readFile(complete.image_path as string);
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  });

  it('writes durations and estimates as float64 even when whole', async () => {
    const { client } = await boot();
    const raw = await client.requestRaw(generate({ steps: 10 }));
    // ... 'estimated_time_s' then 0xcb + IEEE 754 of 1.0
    const key = Buffer.from('estimated_time_s');
    const at = raw.indexOf(key) + key.length;
    expect(raw[at]).toBe(0xcb);
    expect(raw.readDoubleBE(at + 1)).toBe(1);
  });

  it.each([
    [{ steps: 24 }, 2.4000000000000004],
    [{ steps: 20, batch_size: 2 }, 4],
    [{ steps: 13, batch_size: 1, animation_frames: 3 }, 3.9000000000000004],
    [{ steps: 30, animation_frames: 1 }, 3],
  ])('estimates %j as %s seconds (Python float maths)', async (fields, expected) => {
    const { client } = await boot();
    const reply = await client.request(generate({ ...fields, size: [64, 64] }));
    expect(reply.estimated_time_s).toBe(expected);
  });

  it('adds the PNG bytes to job_complete when return_image is set', async () => {
    const { client } = await boot();
    const req = generate({ return_image: true });
    await client.request(req);
    const complete = (await client.terminal(req.id as string)).at(-1) as Msg;
    expect(Object.keys(complete)).toEqual(['type', 'job_id', 'image_path', 'duration_s', 'image']);
    const file = await readFile(complete.image_path as string);
    expect(Buffer.from(complete.image as Uint8Array).equals(file)).toBe(true);
  });

  it('produces byte-identical images for identical inputs and different ones otherwise', async () => {
    const { client } = await boot({ slots: 2 });
    const base = { prompt: 'green slime', seed: 7, style: '16bit', return_image: true };
    const reqs = [
      generate(base),
      generate(base),
      generate({ ...base, seed: 8 }),
      generate({ ...base, style: '8bit' }),
    ];
    for (const r of reqs) await client.request(r);
    const images = [];
    for (const r of reqs)
      images.push(Buffer.from((await client.terminal(r.id as string)).at(-1)?.image as Uint8Array));
    expect(images[0]?.equals(images[1] as Buffer)).toBe(true);
    expect(images[0]?.equals(images[2] as Buffer)).toBe(false);
    expect(images[0]?.equals(images[3] as Buffer)).toBe(false);
  });

  it('accepts a duplicate job id and runs it twice', async () => {
    const { client } = await boot();
    const req = generate();
    await client.request(req);
    await client.terminal(req.id as string);
    await client.request(req);
    await client.until(
      (u) => u.filter((m) => m.job_id === req.id && m.type === 'job_complete').length === 2,
      'second job_complete',
    );
  });

  it('answers job_status through queued, running and completed', async () => {
    const { client } = await boot({ stepMs: 40 });
    const a = generate({ steps: 5 });
    const b = generate({ steps: 5 });
    await client.request(a);
    await client.request(b);
    await client.until(
      (u) => u.some((m) => m.job_id === a.id && m.type === 'progress'),
      'progress of the first job',
    );
    expect(await client.request({ type: 'job_status', job_id: b.id })).toEqual({
      type: 'job_state',
      job_id: b.id,
      state: 'queued',
    });
    expect(await client.request({ type: 'job_status', job_id: a.id })).toEqual({
      type: 'job_state',
      job_id: a.id,
      state: 'running',
    });
    const complete = (await client.terminal(a.id as string)).at(-1) as Msg;
    expect(await client.request({ type: 'job_status', job_id: a.id })).toEqual({
      type: 'job_state',
      job_id: a.id,
      state: 'completed',
      image_path: complete.image_path,
    });
    const unknown = await client.request({ type: 'job_status', job_id: 'nope' });
    expect(unknown).toMatchObject({ type: 'job_error', job_id: 'nope' });
    expect(unknown.error).toContain('Job not found');
  });
});

describe('worker wire: cancel, slots, limits', () => {
  it('cancels a queued job: job_cancelled, then job_finished{success:false} + job_error, never job_complete', async () => {
    const { client } = await boot({ stepMs: 50 });
    const a = generate({ steps: 20 });
    const b = generate({ steps: 20 });
    await client.request(a);
    await client.request(b);
    expect(await client.request({ type: 'status' })).toMatchObject({ queue_size: 1 });
    expect(await client.request({ type: 'cancel', job_id: b.id })).toEqual({
      type: 'job_cancelled',
      job_id: b.id,
    });
    const bMsgs = await client.terminal(b.id as string);
    expect(types(bMsgs)).toEqual(['job_started', 'job_finished', 'job_error']);
    expect(bMsgs[1]).toMatchObject({ success: false, duration_s: 0 });
    expect(bMsgs[2]?.error).toMatch(/cancel/i);
    expect(await client.request({ type: 'status' })).toMatchObject({ queue_size: 0 });
    expect(await client.request({ type: 'cancel', job_id: b.id })).toEqual({
      type: 'job_error',
      job_id: b.id,
      error: 'Job not found or already completed',
    });
    await client.request({ type: 'cancel', job_id: a.id });
  });

  it('really stops a running job and frees its slot', async () => {
    const { client } = await boot({ stepMs: 100 });
    const a = generate({ steps: 100 }); // 10 s if not stopped
    await client.request(a);
    await client.until(
      (u) => u.some((m) => m.job_id === a.id && m.stage === 'sampling'),
      'sampling of the job',
    );
    const t0 = Date.now();
    expect(await client.request({ type: 'cancel', job_id: a.id })).toEqual({
      type: 'job_cancelled',
      job_id: a.id,
    });
    expect(await client.request({ type: 'status' })).toMatchObject({ active_jobs: 0 });
    const msgs = await client.terminal(a.id as string, 3000);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(types(msgs).slice(-2)).toEqual(['job_finished', 'job_error']);
    expect(msgs.at(-1)?.error).toMatch(/cancel/i);
    expect(types(msgs)).not.toContain('job_complete');
    const next = generate({ steps: 2 });
    await client.request(next);
    expect(types(await client.terminal(next.id as string)).at(-1)).toBe('job_complete');
    expect(await client.request({ type: 'cancel', job_id: a.id })).toMatchObject({
      type: 'job_error',
    });
  });

  it('runs as many jobs at once as it has slots', async () => {
    const { client } = await boot({ slots: 3, stepMs: 60 });
    const reqs = [
      generate({ steps: 8 }),
      generate({ steps: 8 }),
      generate({ steps: 8 }),
      generate({ steps: 8 }),
    ];
    for (const r of reqs) await client.request(r);
    await client.until(
      (u) =>
        reqs.slice(0, 3).every((r) => u.some((m) => m.job_id === r.id && m.type === 'progress')),
      'progress from three jobs at once',
    );
    expect(await client.request({ type: 'status' })).toMatchObject({
      active_jobs: 3,
      queue_size: 1,
    });
    for (const r of reqs)
      expect(types(await client.terminal(r.id as string)).at(-1)).toBe('job_complete');
  });

  it('refuses work beyond worker.max_queue with a busy job_error', async () => {
    const { client } = await boot({ stepMs: 100, maxQueue: 1 });
    const a = generate({ steps: 50 });
    await client.request(a);
    await client.until(
      (u) => u.some((m) => m.job_id === a.id && m.type === 'progress'),
      'first job running',
    );
    expect((await client.request(generate())).type).toBe('job_accepted');
    const c = generate();
    const reply = await client.request(c);
    expect(reply).toMatchObject({ type: 'job_error', job_id: c.id });
    expect(reply.error).toContain('Worker busy: 1 jobs are already queued (worker.max_queue = 1)');
  });
});

describe('worker lifecycle', () => {
  it('runs four workers on different ports at once', async () => {
    const booted = await Promise.all([boot(), boot(), boot(), boot()]);
    const ports = new Set(booted.map((b) => b.worker.reqEndpoint));
    expect(ports.size).toBe(4);
    const reqs = booted.map(({ client }) => {
      const r = generate({ id: jobId() });
      return client.request(r).then(() => client.terminal(r.id as string));
    });
    for (const msgs of await Promise.all(reqs)) expect(types(msgs).at(-1)).toBe('job_complete');
  });

  it('ends running and queued jobs with job_error on close and releases its ports', async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.remove);
    const worker = await startWorker({ req: 'tcp://127.0.0.1:*', outputDir: tmp.dir, stepMs: 100 });
    const client = await WireClient.connect(worker.reqEndpoint, worker.pubEndpoint);
    cleanups.push(() => client.close());
    const a = generate({ steps: 100 });
    const b = generate({ steps: 100 });
    await client.request(a);
    await client.request(b);
    await client.until(
      (u) => u.some((m) => m.job_id === a.id && m.type === 'progress'),
      'first job running',
    );
    await worker.close();
    for (const r of [a, b]) {
      const msgs = await client.terminal(r.id as string, 3000);
      expect(types(msgs).slice(-2)).toEqual(['job_finished', 'job_error']);
      expect(msgs.at(-1)?.error).toMatch(/shutting down/);
    }
    // the same ports can be bound again: the sockets are closed
    const again = await startWorker({
      req: worker.reqEndpoint,
      pub: worker.pubEndpoint,
      outputDir: tmp.dir,
    });
    await again.close();
  });

  it('restarts at once on the ports it just closed (libzmq frees a listener asynchronously)', async () => {
    // before bindFreed, about 1 restart in 15 met EADDRINUSE from its own predecessor
    const tmp = await tempDir();
    cleanups.push(tmp.remove);
    let worker = await startWorker({ req: 'tcp://127.0.0.1:*', outputDir: tmp.dir });
    const ports = { req: worker.reqEndpoint, pub: worker.pubEndpoint, outputDir: tmp.dir };
    for (let i = 0; i < 150; i++) {
      await worker.close();
      worker = await startWorker(ports);
    }
    const client = await WireClient.connect(worker.reqEndpoint, worker.pubEndpoint);
    cleanups.push(() => client.close());
    expect((await client.request({ type: 'ping' })).type).toBe('pong');
    await worker.close();
  });

  it('closes within the 5 s grace when an engine ignores the abort, ending its job on the wire', async () => {
    const stuck: Engine = {
      name: 'procedural',
      listModels: async () => [],
      generate: () => new Promise<never>(() => {}), // never returns, ignores the signal
      close: async () => {},
    };
    const { worker, client } = await boot({ engine: stuck });
    const req = generate();
    await client.request(req);
    await client.until(
      (u) => u.filter((m) => m.job_id === req.id).length === 2,
      'second job_started',
    );
    const t0 = Date.now();
    await worker.close();
    expect(Date.now() - t0).toBeLessThan(7000);
    const msgs = await client.terminal(req.id as string, 3000);
    expect(types(msgs)).toEqual(['job_started', 'job_started', 'job_finished', 'job_error']);
    expect(msgs.at(-1)?.error).toMatch(/^Worker shutting down/);
  });

  it.each([
    ['tcp://0.0.0.0:*', 'req'],
    ['tcp://192.168.1.20:5555', 'req'],
  ])('refuses to bind %s without bindPublic and says why', async (req, what) => {
    await expect(startWorker({ req, pub: 'tcp://127.0.0.1:*' })).rejects.toThrow(
      new RegExp(
        `refusing to bind the worker ${what} socket on .*not a loopback address.*--bind-public.*--curve-key`,
      ),
    );
  });

  it('says which endpoint is taken when a port is in use', async () => {
    const { worker, dir } = await boot();
    const taken = { req: worker.reqEndpoint, pub: 'tcp://127.0.0.1:*', outputDir: dir };
    await expect(startWorker(taken)).rejects.toThrow(
      `worker could not bind req=${worker.reqEndpoint} pub=tcp://127.0.0.1:*`,
    );
    await expect(startWorker(taken)).rejects.toThrow(
      'is another worker using the port? pick other ports with --req/--pub',
    );
  });

  it('refuses an output directory it cannot create, and frees its ports', async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.remove);
    const { writeFile } = await import('node:fs/promises');
    await writeFile(`${tmp.dir}/file`, 'x');
    await expect(
      startWorker({ req: 'tcp://127.0.0.1:*', outputDir: `${tmp.dir}/file/out` }),
    ).rejects.toThrow(`worker cannot create its output directory ${tmp.dir}/file/out: ENOTDIR`);
  });

  it('binds a public address when bindPublic and insecure are set (CURVE: test/worker-client/curve.test.ts)', async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.remove);
    const worker = await startWorker({
      req: 'tcp://0.0.0.0:*',
      pub: 'tcp://0.0.0.0:*',
      bindPublic: true,
      insecure: true,
      outputDir: tmp.dir,
    });
    expect(worker.reqEndpoint).toMatch(/^tcp:\/\/0\.0\.0\.0:\d+$/);
    await worker.close();
    expect((await stat(tmp.dir)).isDirectory()).toBe(true);
  });
});

describe('worker wire: a malformed client', () => {
  it('a DEALER that omits the empty delimiter frame does not stop the worker answering others', async () => {
    const { worker, client } = await boot();
    const { Dealer } = await import('zeromq');
    const bad = new Dealer({ linger: 0 });
    cleanups.push(() => bad.close());
    bad.connect(worker.reqEndpoint);
    // no empty delimiter frame before the request: not a REQ envelope
    await bad.send(encode({ type: 'ping' }));
    await bad.send([encode({ type: 'ping' }), encode({ type: 'ping' })]);
    await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < 5; i++) {
      expect(await client.request({ type: 'ping' })).toEqual({ type: 'pong' });
    }
    // a well-formed DEALER (with the delimiter) still gets its answer
    await bad.send([Buffer.alloc(0), encode({ type: 'ping' })]);
    const reply = await Promise.race([
      bad.receive(),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('no reply to a well-formed DEALER ping in 3 s')), 3000),
      ),
    ]);
    expect(reply.at(-1)?.length).toBeGreaterThan(0);
  });
});
