import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { decode } from '@msgpack/msgpack';
import { afterEach, describe, expect, it } from 'vitest';
import { type Engine, startWorker } from '../../daemon/src/embedded-worker/index.js';
import { encode } from '../../daemon/src/protocol/codec.js';
import { startFakeWorker } from '../support/fake-worker.js';
import { generate, type Msg, tempDir, WireClient } from './wire-client.js';

/**
 * Wire conformance: the same cases against the embedded worker and the
 * Python-like test peer (test/support/fake-worker.ts); the observable
 * behaviour must be identical, byte for byte where the protocol fixes bytes.
 * Not compared (PROTOCOL.md): extensions, and what happens after a cancel
 * (ours really stops and ends the job; Python keeps quiet or completes).
 */

interface Peer {
  name: string;
  req: string;
  pub: string;
  outputDir: string;
  close(): Promise<void>;
}

/** slow: jobs take seconds; failWith: every job fails with this engine error. */
type Slow = { slow?: boolean; failWith?: string };

/** An engine whose every job fails the way a ComfyUI error would. */
function failingEngine(message: string): Engine {
  return {
    name: 'comfyui',
    listModels: async () => [],
    generate: async () => {
      throw new Error(message);
    },
    close: async () => {},
  };
}

async function embedded({ slow, failWith }: Slow = {}): Promise<Peer> {
  const tmp = await tempDir();
  const w = await startWorker({
    req: 'tcp://127.0.0.1:*',
    outputDir: tmp.dir,
    stepMs: slow ? 100 : 2,
    ...(failWith === undefined ? {} : { engine: failingEngine(failWith) }),
  });
  return {
    name: 'embedded',
    req: w.reqEndpoint,
    pub: w.pubEndpoint,
    outputDir: w.outputDir,
    close: async () => {
      await w.close();
      await tmp.remove();
    },
  };
}

async function pythonLike({ slow, failWith }: Slow = {}): Promise<Peer> {
  const f = await startFakeWorker({
    ...(slow ? { progressIntervalMs: 300, progressCount: 4 } : {}),
    // the Python executor prefixes engine errors with "Execution failed: "
    ...(failWith === undefined ? {} : { failWith: `Execution failed: ${failWith}` }),
  });
  return {
    name: 'python-like',
    req: f.req,
    pub: f.pub,
    outputDir: f.outputDir,
    close: () => f.close(),
  };
}

/** Real frames of the Python worker (shared/protocol/python-capture/README.md). */
const CAPTURE = join(import.meta.dirname, '../../shared/protocol/python-capture');

const opened: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of opened.splice(0).reverse()) await c();
});

/** Run `scenario` against both peers and return both observations. */
async function onBoth<T>(
  scenario: (c: WireClient, peer: Peer) => Promise<T>,
  opts: Slow = {},
): Promise<[T, T]> {
  const out: T[] = [];
  for (const start of [embedded, pythonLike]) {
    const peer = await start(opts);
    opened.push(() => peer.close());
    const client = await WireClient.connect(peer.req, peer.pub);
    opened.push(() => client.close());
    out.push(await scenario(client, peer));
  }
  return out as [T, T];
}

/** Key order and MessagePack type family of each top-level value of a map frame. */
function shapeOf(frame: Uint8Array): string[] {
  const family = (b: number): string => {
    if (b <= 0x7f || b >= 0xe0 || (b >= 0xcc && b <= 0xd3)) return 'int';
    if (b === 0xcb || b === 0xca) return 'float';
    if ((b >= 0xa0 && b <= 0xbf) || (b >= 0xd9 && b <= 0xdb)) return 'str';
    if (b === 0xc2 || b === 0xc3) return 'bool';
    if (b >= 0xc4 && b <= 0xc6) return 'bin';
    if ((b >= 0x90 && b <= 0x9f) || b === 0xdc || b === 0xdd) return 'array';
    if ((b >= 0x80 && b <= 0x8f) || b === 0xde || b === 0xdf) return 'map';
    return b === 0xc0 ? 'nil' : `0x${b.toString(16)}`;
  };
  const map = decodeOrdered(frame);
  return map.map(([k, first]) => `${k}:${family(first)}`);
}

/** [key, first byte of value] pairs of a top-level msgpack map (enough for shapes). */
function decodeOrdered(frame: Uint8Array): [string, number][] {
  // re-encode each value to find its first byte: decode whole map, then encode field by field

  const obj = decode(frame) as Record<string, unknown>;
  const full = Buffer.from(frame);
  const out: [string, number][] = [];
  let at = full[0] === 0xde ? 3 : full[0] === 0xdf ? 5 : 1;
  for (const key of Object.keys(obj)) {
    const k = encode({ [key]: null }).subarray(1, -1); // the key's own encoding
    at = full.indexOf(Buffer.from(k), at) + k.length;
    out.push([key, full[at] as number]);
  }
  return out;
}

const types = (msgs: Msg[]): string[] => msgs.map((m) => m.type);

describe('wire conformance: embedded worker vs the Python-like peer', () => {
  it.each([
    ['ping', { type: 'ping' }],
    ['cancel of an unknown job', { type: 'cancel', job_id: 'no-such-job' }],
    ['an unknown request type', { type: 'frobnicate' }],
    [
      'generate without model',
      { type: 'generate', id: 'a', prompt: 'p', size: [64, 64], steps: 4, cfg_scale: 7 },
    ],
  ])('replies to %s with identical bytes', async (_name, message) => {
    const [ours, theirs] = await onBoth((c) => c.requestRaw(message));
    expect(ours.equals(theirs)).toBe(true);
    expect((await onBoth((c) => c.request(message)))[0].type).toMatch(/^(pong|job_error|error)$/);
  });

  it.each([
    ['plain', { steps: 24 }, 2.4000000000000004],
    ['batch', { steps: 21, batch_size: 3 }, 6.300000000000001],
    ['animation', { steps: 13, animation_frames: 3 }, 3.9000000000000004],
  ])('accepts a %s generate with identical job_accepted bytes', async (_name, fields, estimate) => {
    const req = generate({ ...fields, size: [64, 64] });
    const [ours, theirs] = await onBoth((c) => c.requestRaw(req));
    expect(ours.equals(theirs)).toBe(true);
    const [reply] = await onBoth((c) => c.request(generate({ ...fields, size: [64, 64] })));
    expect(reply.estimated_time_s).toBe(estimate);
  });

  it('answers status and list_models with the same key order and value types', async () => {
    const [ours, theirs] = await onBoth(async (c) => ({
      status: shapeOf(await c.requestRaw({ type: 'status' })),
      models: await c.request({ type: 'list_models' }),
    }));
    expect(ours.status).toEqual(theirs.status);
    expect(ours.status).toEqual([
      'type:str',
      'version:str',
      'queue_size:int',
      'active_jobs:int',
      'uptime_s:int',
    ]);
    for (const r of [ours.models, theirs.models]) {
      const models = r.models as Record<string, unknown>[];
      expect(models.map((m) => Object.keys(m))).toEqual(
        models.map(() => ['name', 'path', 'model_type', 'size_mb']),
      );
      const names = models.map((m) => String(m.name).toLowerCase());
      expect(names).toEqual([...names].sort());
    }
  });

  it.each([
    ['garbage bytes', Uint8Array.of(0xc1, 0xc1)],
    ['non-msgpack text', Buffer.from('hello world')],
    ['an empty frame', new Uint8Array(0)],
    ['an array', Uint8Array.of(0x92, 1, 2)],
    ['a string', Uint8Array.of(0xa4, ...Buffer.from('ping'))],
    ['a map without type', encode({ job_id: 'x' })],
    ['a truncated map', Uint8Array.of(0x82, 0xa4)],
    ['an integer', Uint8Array.of(0x2a)],
    ['nil', Uint8Array.of(0xc0)],
  ])('answers %s with an error reply and keeps serving', async (_name, frame) => {
    const [ours, theirs] = await onBoth(async (c) => {
      const reply = await c.request(frame);
      const after = await c.request({ type: 'ping' });
      return {
        type: reply.type,
        keys: Object.keys(reply),
        messageType: typeof reply.message,
        after,
      };
    });
    expect(ours).toEqual(theirs);
    expect(ours).toEqual({
      type: 'error',
      keys: ['type', 'message'],
      messageType: 'string',
      after: { type: 'pong' },
    });
  });

  // The texts of Python's msgpack and of its `.get` on a non-map, as the real worker
  // answered them (shared/protocol/python-capture frames 129–138); the rest of this
  // table follows the same Python code paths.
  it.each([
    ['garbage bytes', Uint8Array.of(0xc1, 0xff, 0x00, 0x13, 0x37), ''],
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
    ['a nil type', encode({ type: null }), 'Unknown request type: None'],
  ])('answers %s with identical error bytes', async (_name, frame, message) => {
    const [ours, theirs] = await onBoth((c) => c.requestRaw(frame));
    expect(ours.equals(theirs)).toBe(true);
    expect(decode(ours)).toEqual({ type: 'error', message });
  });

  // The Python-like peer against the real worker's own answers to the same bytes.
  it.each([
    ['125-req-job_status', '126-rep-error'],
    ['127-req-garbage', '128-rep-error'],
    ['129-req-text', '130-rep-error'],
    ['131-req-empty', '132-rep-error'],
    ['133-req-array', '134-rep-error'],
    ['135-req-string', '136-rep-error'],
    ['137-req-no-type', '138-rep-error'],
    ['139-req-frobnicate', '140-rep-error'],
    ['141-req-generate', '142-rep-error'],
  ])('the Python-like peer answers captured frame %s with the bytes of %s', async (req, rep) => {
    const peer = await pythonLike();
    opened.push(() => peer.close());
    const client = await WireClient.connect(peer.req, peer.pub);
    opened.push(() => client.close());
    const reply = await client.requestRaw(await readFile(join(CAPTURE, `${req}.msgpack`)));
    const expected = await readFile(join(CAPTURE, `${rep}.msgpack`));
    expect(reply.toString('hex')).toBe(expected.toString('hex'));
  });

  it('publishes a job in the same order with the same message shapes and writes <id>_<ts>.png', async () => {
    const [ours, theirs] = await onBoth(async (c, peer) => {
      const req = generate({ steps: 3 });
      await c.request(req);
      const msgs = await c.terminal(req.id as string);
      const frames = c.rawUpdates.filter((_f, i) => c.updates[i]?.job_id === req.id);
      const complete = msgs.at(-1) as Msg;
      const file = await stat(complete.image_path as string);
      // collapse the progress run: how many is the engine's business, that there are some is not
      const order = types(msgs).filter(
        (t, i, all) => !(t === 'progress' && all[i - 1] === 'progress'),
      );
      const shapes = new Map(frames.map((f) => [shapeOf(f)[0], shapeOf(f)]));
      return {
        order,
        shapes: [...shapes.values()],
        path: String(complete.image_path)
          .replace(req.id as string, 'ID')
          .replace(peer.outputDir, 'OUT'),
        file: file.isFile() && file.size > 0,
      };
    });
    expect(ours.order).toEqual(theirs.order);
    expect(ours.order).toEqual([
      'job_started',
      'job_started',
      'progress',
      'job_finished',
      'job_complete',
    ]);
    expect(ours.shapes).toEqual(theirs.shapes);
    expect(ours.path).toMatch(/^OUT\/ID_\d{10}\.png$/);
    expect(theirs.path).toMatch(/^OUT\/ID_\d{10}\.png$/);
    expect([ours.file, theirs.file]).toEqual([true, true]);
  });

  it('ends a failed job with job_finished{success:false, duration_s:0} then job_error, same bytes', async () => {
    const reason =
      'Failed to queue prompt: 400 Client Error: Bad Request for url: http://127.0.0.1:8188/prompt';
    const req = generate({ steps: 2 }); // one id for both peers, so the bytes can match
    const [ours, theirs] = await onBoth(
      async (c) => {
        await c.request(req);
        const msgs = await c.terminal(req.id as string);
        const frames = c.rawUpdates.filter((_f, i) => c.updates[i]?.job_id === req.id);
        return {
          order: types(msgs).filter((t) => t !== 'progress'),
          tail: frames.slice(-2).map((f) => Buffer.from(f).toString('hex')),
        };
      },
      { failWith: reason },
    );
    expect(ours).toEqual(theirs);
    expect(ours.order).toEqual(['job_started', 'job_started', 'job_finished', 'job_error']);
  });

  it('counts queued and running jobs the same way and cancels a queued job with the same reply', async () => {
    const [ours, theirs] = await onBoth(
      async (c) => {
        const a = generate({ steps: 10 });
        const b = generate({ steps: 10 });
        await c.request(a);
        await c.request(b);
        await c.until(
          (u) => u.some((m) => m.job_id === a.id && m.type === 'progress'),
          'first job running',
        );
        const busy = await c.request({ type: 'status' });
        const cancel = await c.requestRaw({ type: 'cancel', job_id: b.id });
        const again = await c.request({ type: 'cancel', job_id: b.id });
        const after = await c.request({ type: 'status' });
        return {
          busy: [busy.queue_size, busy.active_jobs],
          cancel: cancel.equals(
            Buffer.from(encode({ type: 'job_cancelled', job_id: String(b.id) })),
          ),
          again: again.error,
          after: [after.queue_size, after.active_jobs],
        };
      },
      { slow: true },
    );
    expect(ours).toEqual(theirs);
    expect(ours).toEqual({
      busy: [1, 1],
      cancel: true,
      again: 'Job not found or already completed',
      after: [0, 1],
    });
  });

  it('accepts a duplicate job id and publishes two full sequences', async () => {
    const [ours, theirs] = await onBoth(async (c) => {
      const req = generate({ steps: 2 });
      await c.request(req);
      await c.terminal(req.id as string);
      const reply = await c.request(req);
      await c.until(
        (u) => u.filter((m) => m.job_id === req.id && m.type === 'job_complete').length === 2,
        'second job_complete',
      );
      return {
        reply: reply.type,
        completes: c.of(req.id as string).filter((m) => m.type === 'job_complete').length,
      };
    });
    expect(ours).toEqual(theirs);
    expect(ours).toEqual({ reply: 'job_accepted', completes: 2 });
  });

  it('answers a two-frame REQ message once, for the last frame', async () => {
    const [ours, theirs] = await onBoth((c) =>
      c.request([encode({ type: 'status' }), encode({ type: 'ping' })]),
    );
    expect(ours).toEqual(theirs);
    expect(ours).toEqual({ type: 'pong' });
  });
});
