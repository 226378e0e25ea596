import { Publisher, Subscriber } from 'zeromq';
import { prng } from './prng.js';
import { sleep } from './wait.js';

/**
 * A lossy link between a worker's PUB socket and the daemon's SUB: a SUB
 * connected upstream (subscribed to everything) feeding a PUB bound on a free
 * loopback port, dropping a share of the frames (seeded, reproducible).
 * Point the daemon's `pub` endpoint at `endpoint`.
 */
export interface PubDropProxy {
  /** Where the daemon subscribes. */
  endpoint: string;
  forwarded: number;
  dropped: number;
  /** Change the drop share (0..1) at any time. */
  setShare(share: number): void;
  close(): Promise<void>;
}

export async function startPubDropProxy(
  upstream: string,
  share: number,
  seed = 4242,
): Promise<PubDropProxy> {
  const rand = prng(seed);
  const sub = new Subscriber({ linger: 0 });
  const pub = new Publisher({ linger: 0, sendHighWaterMark: 100_000 });
  sub.subscribe();
  sub.connect(upstream);
  await pub.bind('tcp://127.0.0.1:*');
  const state: PubDropProxy = {
    endpoint: pub.lastEndpoint ?? '',
    forwarded: 0,
    dropped: 0,
    setShare(s: number) {
      share = s;
    },
    async close() {
      sub.close();
      await loop;
      pub.close();
    },
  };
  let chain = Promise.resolve();
  const loop = (async () => {
    try {
      for await (const frames of sub) {
        if (rand() < share) {
          state.dropped++;
          continue;
        }
        state.forwarded++;
        chain = chain.then(() => pub.send(frames).catch(() => undefined));
      }
    } catch {
      // closed
    }
    await chain;
  })();
  await sleep(100); // let the upstream SUB connection come up (slow joiner)
  return state;
}
