import { encode as rawEncode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { Publisher, Reply, Request, Subscriber } from 'zeromq';
import { startWorker } from '../../daemon/src/embedded-worker/index.js';
import { isDaemonError } from '../../daemon/src/errors.js';
import { decodeReply, encode } from '../../daemon/src/protocol/codec.js';
import { WorkerClient } from '../../daemon/src/worker-client/worker-client.js';
import { prng, randInt } from '../support/prng.js';
import { recordFigure } from './figures.js';

// Random and mutated MessagePack frames over real sockets: into the embedded worker's REP
// socket (it must answer every one and keep working), and from a hostile worker peer into the
// daemon's WorkerClient (replies and PUB updates; it must survive and work once the peer behaves).

const SEEDS: Record<string, unknown>[] = [
  { type: 'ping' },
  { type: 'status' },
  { type: 'list_models' },
  { type: 'cancel', job_id: 'nope' },
  { type: 'job_status', job_id: 'nope' },
  {
    type: 'generate',
    id: 'x',
    prompt: 'slime',
    model: 'm',
    size: [64, 64],
    steps: 10,
    cfg_scale: 7.5,
  },
  { type: 'job_accepted', job_id: 'x', estimated_time_s: 1.5 },
  { type: 'job_complete', job_id: 'x', image_path: '/tmp/x.png', duration_s: 1.0 },
  {
    type: 'progress',
    job_id: 'x',
    stage: 'sampling',
    step: 1,
    total_steps: 10,
    percent: 10,
    eta_s: 1,
  },
  { type: 'status_info', version: '1.0.0', queue_size: 0, active_jobs: 0, uptime_s: 1 },
];

function frame(rand: () => number): Uint8Array {
  const seed = encode(SEEDS[randInt(rand, SEEDS.length)] as never);
  switch (randInt(rand, 6)) {
    case 0:
      return Uint8Array.from({ length: randInt(rand, 80) }, () => randInt(rand, 256));
    case 1: {
      const out = Uint8Array.from(seed);
      for (let i = 1 + randInt(rand, 4); i > 0; i--) {
        const at = randInt(rand, out.length);
        out[at] = (out[at] as number) ^ (1 << randInt(rand, 8));
      }
      return out;
    }
    case 2:
      return seed.slice(0, randInt(rand, seed.length));
    case 3: {
      const out = Uint8Array.from(seed);
      out[randInt(rand, out.length)] = [0xdd, 0xdf, 0xdb, 0xc6, 0xc1][randInt(rand, 5)] as number;
      return out;
    }
    case 4:
      return rawEncode({
        type: SEEDS[randInt(rand, SEEDS.length)]?.type,
        job_id: rand() < 0.5 ? 'x' : randInt(rand, 1000),
        size: rand() < 0.5 ? [randInt(rand, 1e6), -1] : 'big',
        steps: rand() < 0.5 ? 'ten' : 1e12,
        id: rand() < 0.5 ? null : 'y'.repeat(randInt(rand, 5000)),
      });
    default:
      return seed;
  }
}

describe('frames fuzzed over real sockets', () => {
  it('the embedded worker answers every random or mutated request and keeps working', async () => {
    const worker = await startWorker({
      req: 'tcp://127.0.0.1:*',
      pub: 'tcp://127.0.0.1:*',
      stepMs: 0,
    });
    const req = new Request({ receiveTimeout: 5000, sendTimeout: 5000, linger: 0 });
    req.connect(worker.reqEndpoint);
    const rand = prng(77);
    let sent = 0;
    let errorReplies = 0;
    const kinds = new Map<string, number>();
    try {
      for (let i = 0; i < 3000; i++) {
        const multi = i % 50 === 0;
        await req.send(multi ? [frame(rand), frame(rand)] : frame(rand));
        sent++;
        const [bytes] = await req.receive(); // throws after 5 s: the worker stopped answering
        const reply = decodeReply(bytes as Buffer);
        kinds.set(reply.type, (kinds.get(reply.type) ?? 0) + 1);
        if (reply.type === 'error' || reply.type === 'job_error') errorReplies++;
        if (i % 500 === 0) {
          await req.send(encode({ type: 'ping' }));
          expect(decodeReply((await req.receive())[0] as Buffer)).toEqual({ type: 'pong' });
        }
      }
      recordFigure({
        suite: 'hostile input',
        name: 'random/mutated frames sent to the embedded worker (REQ socket)',
        value: sent,
        note: `every one answered (${errorReplies} error replies; ${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ')}); pong after each 500`,
      });
      expect(errorReplies).toBeGreaterThan(2000);
    } finally {
      req.close();
      await worker.close();
    }
  });

  it('the daemon client survives garbage replies and updates, then works with an honest worker', async () => {
    const real = await startWorker({
      req: 'tcp://127.0.0.1:*',
      pub: 'tcp://127.0.0.1:*',
      stepMs: 2,
    });
    const rep = new Reply({ linger: 0 });
    const pub = new Publisher({ linger: 0 });
    await rep.bind('tcp://127.0.0.1:*');
    await pub.bind('tcp://127.0.0.1:*');
    const upstreamReq = new Request({ receiveTimeout: 5000, linger: 0 });
    upstreamReq.connect(real.reqEndpoint);
    const upstreamSub = new Subscriber({ linger: 0 });
    upstreamSub.subscribe();
    upstreamSub.connect(real.pubEndpoint);
    const rand = prng(31337);
    let hostile = true;
    let garbageReplies = 0;
    let garbageUpdates = 0;
    let pubChain = Promise.resolve();
    const publish = (f: Uint8Array) => {
      pubChain = pubChain.then(() => pub.send(f).catch(() => undefined));
    };
    const serving = (async () => {
      for await (const [request] of rep) {
        if (hostile) {
          garbageReplies++;
          await rep.send(frame(rand));
        } else {
          await upstreamReq.send(request as Buffer);
          await rep.send((await upstreamReq.receive())[0] as Buffer);
        }
      }
    })().catch(() => undefined);
    const forwarding = (async () => {
      for await (const frames of upstreamSub) publish(frames[0] as Buffer);
    })().catch(() => undefined);
    const flood = setInterval(() => {
      for (let i = 0; i < 20; i++) {
        garbageUpdates++;
        publish(frame(rand));
      }
    }, 5);
    const client = new WorkerClient({
      req: rep.lastEndpoint ?? '',
      pub: pub.lastEndpoint ?? '',
      requestTimeoutMs: 1000,
      pingTimeoutMs: 1000,
      maxRetries: 0,
    });
    const codes = new Map<string, number>();
    let calls = 0;
    try {
      const attempts: (() => Promise<unknown>)[] = [
        () => client.ping(),
        () => client.status(),
        () => client.listModels(),
        () => client.cancel('x'),
        () =>
          client.generate({ prompt: 'slime', model: 'm', size: [64, 64], steps: 10, cfgScale: 7 }),
      ];
      for (let i = 0; i < 300; i++) {
        calls++;
        try {
          await attempts[i % attempts.length]?.();
          codes.set('answered', (codes.get('answered') ?? 0) + 1);
        } catch (err) {
          expect(isDaemonError(err), String(err)).toBe(true);
          const code = (err as { code: string }).code;
          codes.set(code, (codes.get(code) ?? 0) + 1);
        }
      }
      hostile = false;
      clearInterval(flood);
      const tracker = await client.generate({
        prompt: 'slime',
        model: 'm',
        size: [64, 64],
        steps: 10,
        cfgScale: 7,
      });
      const result = await tracker.result;
      expect(result.status).toBe('completed');
      recordFigure({
        suite: 'hostile input',
        name: 'garbage replies + PUB updates sent to the daemon client',
        value: garbageReplies + garbageUpdates,
        note: `${garbageReplies} replies to ${calls} calls (${[...codes].map(([k, n]) => `${k} ${n}`).join(', ')}), ${garbageUpdates} updates; client alive, next job completed`,
      });
    } finally {
      clearInterval(flood);
      client.close();
      rep.close();
      upstreamReq.close();
      upstreamSub.close();
      await Promise.all([serving, forwarding]);
      await pubChain;
      pub.close();
      await real.close();
    }
  });
});
