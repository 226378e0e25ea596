import { afterEach, describe, expect, it } from 'vitest';
import {
  type Engine,
  type RunningWorker,
  startWorker,
} from '../../daemon/src/embedded-worker/index.js';
import { DaemonError } from '../../daemon/src/errors.js';
import {
  requiredExtensions,
  toWireRequest,
  type WorkerJobParams,
} from '../../daemon/src/worker-client/types.js';
import { WorkerClient } from '../../daemon/src/worker-client/worker-client.js';
import { WorkerPool } from '../../daemon/src/worker-client/worker-pool.js';
import { type FakeWorker, startFakeWorker } from '../support/fake-worker.js';
import { makePng } from '../support/png.js';
import { tempDir } from '../support/temp-dir.js';
import { within } from '../support/wait.js';

// Routing of image-conditioned jobs (protocol/conditioning.ts): a job with init_image, mask or
// reference_images goes only to workers that list each in `capabilities`; with none, it fails at
// once, naming every worker and what it lacks, and nothing is sent. Real ZeroMQ: a Python-like
// peer (no `capabilities`) and our embedded worker.

const plain: WorkerJobParams = {
  prompt: 'red knight',
  model: 'sdxl',
  size: [64, 64],
  steps: 3,
  cfgScale: 7,
};
const init = makePng(16, 16, 3);
const edit: WorkerJobParams = { ...plain, initImage: init, strength: 0.5 };

const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function python(): Promise<FakeWorker> {
  const w = await startFakeWorker();
  closers.push(() => w.close());
  return w;
}

async function embedded(engine?: Engine): Promise<RunningWorker> {
  const w = await startWorker({
    req: 'tcp://127.0.0.1:*',
    stepMs: 1,
    outputDir: tempDir('routing-'),
    ...(engine ? { engine } : {}),
  });
  closers.push(() => w.close());
  return w;
}

function pool(workers: { req: string; pub: string }[]): WorkerPool {
  const p = new WorkerPool({
    workers: workers.map((w, i) => ({
      req: w.req,
      pub: w.pub,
      name: `gpu${i}`,
      requestTimeoutMs: 1000,
    })),
    outputDir: tempDir('routing-pool-'),
    healthIntervalMs: 100,
  });
  closers.push(() => p.close());
  return p;
}

describe('requiredExtensions', () => {
  it('names each conditioning field the params use, in wire order', () => {
    expect(requiredExtensions(plain)).toEqual([]);
    expect(requiredExtensions(edit)).toEqual(['init_image']);
    expect(
      requiredExtensions({
        ...edit,
        mask: init,
        referenceImages: [init],
        pose: { facing: 'east', animation: 'walk' },
      }),
    ).toEqual(['pose', 'init_image', 'mask', 'reference_images']);
    expect(requiredExtensions({ ...plain, referenceImages: [] })).toEqual([]);
    // and an empty list is not sent either (the worker would refuse it)
    expect(toWireRequest('j', { ...plain, referenceImages: [] }, false)).not.toHaveProperty(
      'reference_images',
    );
    expect(toWireRequest('j', { ...edit, mask: init }, false)).toMatchObject({
      init_image: init,
      strength: 0.5,
      mask: init,
    });
  });
});

describe('WorkerPool routing of image-conditioned jobs', () => {
  it('a Python-like peer gets nothing: the job fails at once naming the worker, its endpoint and init_image', async () => {
    const peer = await python();
    const p = pool([peer]);
    const t0 = Date.now();
    const outcome = await within(p.submit(edit).done, 'the refused job', 5000);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(outcome.status).toBe('failed');
    if (outcome.status !== 'failed') return;
    expect(outcome.code).toBe('JOB_FAILED');
    expect(outcome.error).toContain('no DGX worker advertises the "init_image" extension');
    expect(outcome.error).toContain(`gpu0 (${peer.req}) lists no extensions`);
    expect(outcome.error).toContain('Unknown request type');
    expect(outcome.error).toContain('dgx-pixels worker');
    expect(peer.requestsOf('generate')).toHaveLength(0);
    expect(peer.requestsOf('capabilities')).toHaveLength(1);
    // asked once per worker: a second job asks nothing more and still sends nothing
    expect((await p.submit({ ...edit, mask: init }).done).status).toBe('failed');
    expect(peer.requestsOf('capabilities')).toHaveLength(1);
    expect(peer.requestsOf('generate')).toHaveLength(0);
  });

  it('with a Python-like peer and an embedded worker, conditioned jobs all go to the embedded one; plain jobs ask nothing', async () => {
    const peer = await python();
    const ours = await embedded();
    const p = pool([peer, { req: ours.reqEndpoint, pub: ours.pubEndpoint }]);
    const outcomes = await within(
      Promise.all([1, 2, 3].map((k) => p.submit({ ...edit, seed: k }).done)),
      'three edits',
      15_000,
    );
    for (const o of outcomes) {
      expect(o.status).toBe('completed');
      if (o.status === 'completed') expect(o.workerName).toBe('gpu1');
    }
    expect(peer.requestsOf('generate')).toHaveLength(0);
    const plainPeer = await python();
    const p2 = pool([plainPeer]);
    expect((await within(p2.submit(plain).done, 'a plain job', 10_000)).status).toBe('completed');
    expect(plainPeer.requestsOf('capabilities')).toHaveLength(0);
  });

  it('a worker that lists some extensions is named with what it lacks', async () => {
    const posesOnly: Engine = {
      name: 'comfyui',
      extensions: ['pose'],
      listModels: async () => [],
      generate: async () => {
        throw new Error('must not run');
      },
      close: async () => undefined,
    };
    const w = await embedded(posesOnly);
    const p = pool([{ req: w.reqEndpoint, pub: w.pubEndpoint }]);
    const outcome = await p.submit({ ...edit, mask: init, referenceImages: [init] }).done;
    expect(outcome.status).toBe('failed');
    if (outcome.status !== 'failed') return;
    expect(outcome.error).toContain(
      'the "init_image", "mask" and "reference_images" extensions this request needs',
    );
    expect(outcome.error).toMatch(
      /gpu0 \(tcp:\/\/127\.0\.0\.1:\d+\) lists [a-z_, ]*pose but not init_image, mask, reference_images/,
    );
  });
});

describe('WorkerClient.generate with conditioning', () => {
  it('refuses to send init_image to a worker without the extension (WORKER_ERROR), sending nothing', async () => {
    const peer = await python();
    const client = new WorkerClient({
      req: peer.req,
      pub: peer.pub,
      name: 'py',
      requestTimeoutMs: 1000,
    });
    closers.push(() => client.close());
    const err = await client.generate(edit).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DaemonError);
    expect((err as DaemonError).code).toBe('WORKER_ERROR');
    expect((err as Error).message).toMatch(
      /worker py \(tcp:\/\/127\.0\.0\.1:\d+\) does not advertise the "init_image" extension .*it lists none, like the Python DGX worker.*leave init_image out/,
    );
    expect(peer.requestsOf('generate')).toHaveLength(0);
  });

  it('sends init_image, strength and mask on the wire to a worker that lists them', async () => {
    const ours = await embedded();
    const client = new WorkerClient({ req: ours.reqEndpoint, pub: ours.pubEndpoint, name: 'ours' });
    closers.push(() => client.close());
    const tracker = await client.generate({ ...edit, mask: makePng(16, 16, [255, 255, 255, 255]) });
    const result = await within(tracker.result, 'the edit', 10_000);
    expect(result.status, JSON.stringify(result)).toBe('completed');
  });
});
