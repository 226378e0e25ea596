import { Reply, Request } from 'zeromq';
import { decodeReply, encode } from '../../daemon/src/protocol/codec.js';
import { WorkerClient } from '../../daemon/src/worker-client/worker-client.js';

/**
 * Request round trip (ping → pong) to a loopback worker: through WorkerClient
 * (serialised queue, per-request time-out, msgpack + zod validation) beside
 * the floor measured in the same run: a bare zeromq REQ/REP loop that only
 * encodes and decodes the same frames. Same REP server for both; the two
 * loops alternate in rounds so machine noise hits both alike.
 * Run: npx tsx test/bench/roundtrip.bench.ts
 */

const ROUNDS = 10;
const PER_ROUND = 300;
const WARMUP = 200;

async function startPongServer(): Promise<{ endpoint: string; close: () => void }> {
  const rep = new Reply({ linger: 0 });
  await rep.bind('tcp://127.0.0.1:*');
  const pong = encode({ type: 'pong' });
  void (async () => {
    try {
      for await (const [frame] of rep) {
        if (frame === undefined) continue;
        await rep.send(pong);
      }
    } catch {
      // closed
    }
  })();
  return { endpoint: rep.lastEndpoint ?? '', close: () => rep.close() };
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

async function main(): Promise<void> {
  const server = await startPongServer();
  const client = new WorkerClient({
    req: server.endpoint,
    pub: 'tcp://127.0.0.1:1',
    requestTimeoutMs: 2000,
  });
  const bare = new Request({ linger: 0, receiveTimeout: 2000 });
  bare.connect(server.endpoint);
  const ping = encode({ type: 'ping' });
  const bareOnce = async () => {
    await bare.send(ping);
    const [reply] = await bare.receive();
    if (reply === undefined || decodeReply(reply).type !== 'pong') throw new Error('bad reply');
  };
  const clientOnce = async () => {
    await client.ping(2000);
  };
  for (let i = 0; i < WARMUP; i++) {
    await bareOnce();
    await clientOnce();
  }
  const samples = { bare: [] as number[], client: [] as number[] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, once] of [
      ['bare', bareOnce],
      ['client', clientOnce],
    ] as const) {
      for (let i = 0; i < PER_ROUND; i++) {
        const t0 = performance.now();
        await once();
        samples[name].push(performance.now() - t0);
      }
    }
  }
  client.close();
  bare.close();
  server.close();

  const stats = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return { p50: quantile(s, 0.5), p99: quantile(s, 0.99) };
  };
  const c = stats(samples.client);
  const b = stats(samples.bare);
  const us = (ms: number) => `${(ms * 1000).toFixed(0)} µs`.padStart(9);
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out(`ping round trip, loopback, ${ROUNDS * PER_ROUND} requests each (alternating rounds)`);
  out('                                   p50        p99');
  out(`WorkerClient.ping            ${us(c.p50)}  ${us(c.p99)}`);
  out(`bare zeromq REQ/REP (floor)  ${us(b.p50)}  ${us(b.p99)}`);
  out(
    `ratio                        ${(c.p50 / b.p50).toFixed(2).padStart(8)}×  ${(c.p99 / b.p99).toFixed(2).padStart(8)}×`,
  );
}

await main();
