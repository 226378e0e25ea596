import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DaemonError } from '../../daemon/src/errors.js';
import { encode } from '../../daemon/src/protocol/codec.js';
import type { JobEvent, WorkerJobParams } from '../../daemon/src/worker-client/types.js';
import {
  WorkerClient,
  type WorkerClientOptions,
} from '../../daemon/src/worker-client/worker-client.js';
import {
  type FakeWorker,
  type FakeWorkerOptions,
  startFakeWorker,
} from '../support/fake-worker.js';
import { deadEndpoint } from '../support/ports.js';
import { within } from '../support/wait.js';

const params: WorkerJobParams = {
  prompt: 'a red knight',
  model: 'sdxl',
  size: [1024, 1024],
  steps: 20,
  cfgScale: 7,
};

let workers: FakeWorker[] = [];
let clients: WorkerClient[] = [];
afterEach(async () => {
  for (const c of clients) c.close();
  for (const w of workers) await w.close();
  clients = [];
  workers = [];
});

async function setup(
  workerOptions: FakeWorkerOptions = {},
  clientOptions: Partial<WorkerClientOptions> = {},
): Promise<{ worker: FakeWorker; client: WorkerClient }> {
  const worker = await startFakeWorker(workerOptions);
  workers.push(worker);
  const client = new WorkerClient({
    req: worker.req,
    pub: worker.pub,
    requestTimeoutMs: 300,
    maxRetries: 2,
    ...clientOptions,
  });
  clients.push(client);
  return { worker, client };
}

async function collect(events: AsyncIterable<JobEvent>): Promise<JobEvent[]> {
  const out: JobEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

describe('WorkerClient requests', () => {
  it('answers ping, status and list_models', async () => {
    const { client } = await setup();
    expect(await client.ping()).toBeGreaterThan(0);
    const status = await client.status();
    expect(status).toEqual({
      type: 'status_info',
      version: '1.0.0',
      queue_size: 0,
      active_jobs: 0,
      uptime_s: 0,
    });
    const models = await client.listModels();
    expect(models.map((m) => m.name)).toEqual([
      'pixel_art_lora.safetensors',
      'sd_xl_base_1.0.safetensors',
      'sdxl_vae.safetensors',
    ]);
  });

  it('reports a dead endpoint at once with the fix on the line', async () => {
    const req = await deadEndpoint();
    const client = new WorkerClient({
      req,
      pub: req.replace(/\d+$/, (p) => String(Number(p) + 1)),
      pingTimeoutMs: 250,
    });
    clients.push(client);
    const t0 = Date.now();
    const err = await client.ping().catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(err).toBeInstanceOf(DaemonError);
    expect((err as DaemonError).code).toBe('WORKER_UNREACHABLE');
    expect((err as DaemonError).message).toBe(
      `Backend connection failed: no DGX worker answered at ${req} within 250 ms; start it (dgx-pixels worker) or check backend.zmq_endpoint`,
    );
    // generate fails the same way, fast, not after backend.timeout_s
    const genErr = await client.generate(params).catch((e: unknown) => e);
    expect((genErr as DaemonError).message).toMatch(
      /^Backend connection failed: no DGX worker answered at/,
    );
  });

  // client            worker
  //   ping ──────────▶ (swallowed)
  //   ...300 ms, close REQ (linger 0), open new REQ
  //   ping ──────────▶
  //   ◀────────── pong
  it('reopens the REQ socket after a reply time-out and the next attempt works (Lazy Pirate)', async () => {
    const { worker, client } = await setup();
    worker.setFaults({ noReply: { count: 1 } });
    const status = await client.status(200, 2);
    expect(status.type).toBe('status_info');
    expect(client.reopenCount).toBe(1);
    expect(worker.requestsOf('status')).toHaveLength(2);
    // and the socket keeps working for later requests
    expect(await client.ping()).toBeGreaterThan(0);
  });

  it('gives up after bounded retries with WORKER_TIMEOUT', async () => {
    const { worker, client } = await setup();
    worker.setFaults({ noReply: { count: 5 } });
    const err = (await client.status(100, 2).catch((e: unknown) => e)) as DaemonError;
    expect(err.code).toBe('WORKER_TIMEOUT');
    expect(err.message).toBe(
      `no DGX worker answered "status" at ${worker.req} within 100 ms (3 attempts); start it (dgx-pixels worker) or check backend.zmq_endpoint`,
    );
    expect(worker.requestsOf('status')).toHaveLength(3);
  });

  it('drops a late reply with the timed-out socket instead of pairing it with the next request', async () => {
    const { worker, client } = await setup();
    worker.setFaults({ replyDelayMs: 250 });
    await expect(client.ping(100)).rejects.toThrow(/Backend connection failed/);
    worker.setFaults({ replyDelayMs: undefined });
    const models = await client.listModels();
    expect(models).toHaveLength(3);
  });

  it('turns a garbage reply into BAD_FRAME plus a log line, and keeps working', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const { worker, client } = await setup({}, { logger });
    worker.setFaults({ garbageReplies: 1 });
    const err = (await client.status().catch((e: unknown) => e)) as DaemonError;
    expect(err.code).toBe('BAD_FRAME');
    expect(err.message).toMatch(/^frame of \d+ bytes is not MessagePack/);
    expect((await client.status()).type).toBe('status_info');
    const logged = lines.map(
      (l) => JSON.parse(l) as { level: number; msg: string; request: string },
    );
    expect(logged).toContainEqual(
      expect.objectContaining({
        level: 50,
        msg: 'worker sent a malformed reply',
        request: 'status',
      }),
    );
  });

  it('serialises concurrent requests on one REQ socket', async () => {
    const { worker, client } = await setup();
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? client.status() : client.listModels())),
    );
    expect(replies).toHaveLength(20);
    expect(worker.requestsOf('status')).toHaveLength(10);
    expect(client.reopenCount).toBe(0);
  });

  it('detects that job_status is unsupported once and remembers it', async () => {
    const { worker, client } = await setup();
    expect(await client.jobStatus('nope')).toBeUndefined();
    expect(client.jobStatusSupported).toBe(false);
    expect(await client.jobStatus('nope')).toBeUndefined();
    expect(worker.requestsOf('job_status')).toHaveLength(1);
  });

  it('uses job_status when the worker has it', async () => {
    const { client } = await setup({ jobStatus: true });
    const job = await client.generate(params);
    const result = await within(job.result, 'job did not end');
    expect(result.status).toBe('completed');
    const state = await client.jobStatus(job.jobId);
    expect(state).toMatchObject({ type: 'job_state', job_id: job.jobId, state: 'completed' });
    await expect(client.jobStatus('unknown-id')).rejects.toThrow('worker');
  });

  it('cancel of an unknown job answers not_found', async () => {
    const { client } = await setup();
    expect(await client.cancel('no-such-job')).toBe('not_found');
  });
});

describe('WorkerClient job stream', () => {
  // client                 worker (REP)          worker (PUB)
  //   generate ──────────▶
  //                         job_started ─────────▶ (before the reply, quirk 1)
  //   ◀──────── job_accepted
  //                         job_started ─────────▶ (execution begins)
  //                         progress ×3 ─────────▶ (5, 2, 12 %; last step 100/20)
  //                         job_finished ────────▶
  //                         job_complete ────────▶
  it('follows a successful job: accepted, started once, monotonic clamped progress, result', async () => {
    const { worker, client } = await setup();
    const job = await client.generate(params);
    const events = await within(collect(job), 'job stream did not end');
    const kinds = events.map((e) => e.kind);
    expect(kinds[0]).toBe('accepted');
    expect(kinds.filter((k) => k === 'started')).toHaveLength(1);
    expect(kinds.slice(-1)).toEqual(['result']);
    expect(kinds).toContain('finished');
    const percents = events.flatMap((e) => (e.kind === 'progress' ? [e.progress.percent] : []));
    expect(percents).toEqual([5, 5, 12, 100]);
    const steps = events.flatMap((e) => (e.kind === 'progress' ? [e.progress.step] : []));
    expect(Math.max(...steps)).toBe(20);
    const result = await job.result;
    expect(result.status).toBe('completed');
    if (result.status === 'completed')
      expect(result.imagePath.startsWith(worker.outputDir)).toBe(true);
    expect(worker.publishedFor(job.jobId)).toEqual([
      'job_started',
      'job_started',
      'progress',
      'progress',
      'progress',
      'job_finished',
      'job_complete',
    ]);
  });

  // client                 worker
  //   generate ──────────▶
  //                 ◀───── job_started, job_started, progress…   (PUB, reply held back 150 ms)
  //   ◀──────── job_accepted                                    (late)
  //   → events replayed after 'accepted', in arrival order
  it('buffers updates that arrive before job_accepted and replays them after it', async () => {
    const { worker, client } = await setup({ progressIntervalMs: 10, progressCount: 3 });
    worker.setFaults({ replyDelayMs: 150 });
    const job = await client.generate(params);
    const events = await within(collect(job), 'job stream did not end');
    expect(events[0]).toEqual({ kind: 'accepted', estimatedTimeS: 2 });
    expect(events.map((e) => e.kind)).toEqual([
      'accepted',
      'started',
      'running',
      'progress',
      'progress',
      'progress',
      'finished',
      'progress',
      'result',
    ]);
    expect((await job.result).status).toBe('completed');
  });

  it.each([
    [['job_started']],
    [['progress']],
    [['job_finished']],
    [['job_started', 'progress', 'job_finished']],
  ])('completes when the worker’s %j messages are lost', async (types) => {
    const { worker, client } = await setup({}, { recoveryIntervalMs: 150 });
    worker.setFaults({ dropPub: { types } });
    const job = await client.generate(params);
    const events = await within(collect(job), 'job stream did not end');
    expect(events.at(-1)).toMatchObject({ kind: 'result', result: { status: 'completed' } });
  });

  it('ignores a second run of a duplicate job id after the first ended', async () => {
    const { worker, client } = await setup();
    const job = await client.generate(params);
    const first = await within(job.result, 'first run did not end');
    // another client re-sends the same id: the worker accepts and runs it again (quirk 12)
    const other = new WorkerClient({ req: worker.req, pub: worker.pub });
    clients.push(other);
    const again = await other.generate(params, { jobId: job.jobId });
    await within(again.result, 'second run did not end');
    expect(worker.publishedFor(job.jobId).filter((t) => t === 'job_complete')).toHaveLength(2);
    expect(await job.result).toBe(first);
  });

  it('logs and skips malformed PUB frames without losing the job', async () => {
    const { worker, client } = await setup({ progressIntervalMs: 30 });
    const job = await client.generate(params);
    worker.publishRaw(Buffer.from([0xc1, 0xc1]));
    const badStage: Record<string, unknown> = {
      type: 'progress',
      job_id: job.jobId,
      stage: 'warp_drive',
    };
    worker.publishRaw(encode(badStage));
    worker.publishRaw(encode({ type: 'job_complete', job_id: job.jobId }));
    const result = await within(job.result, 'job did not survive malformed PUB frames');
    expect(result.status).toBe('completed');
    expect(client.badUpdateFrames).toBe(3);
  });

  it('reports a failed job from job_error on PUB with the worker text', async () => {
    const text = 'Execution failed: Failed to queue prompt: 400 Client Error: Bad Request for url';
    const { client } = await setup({ failWith: text });
    const job = await client.generate(params);
    expect(await within(job.result, 'job did not fail')).toEqual({
      status: 'failed',
      error: text,
      code: 'job_error',
    });
  });

  it('returns inline image bytes when the worker supports return_image', async () => {
    const { client, worker } = await setup({ returnImage: true });
    const job = await client.generate(params);
    const result = await within(job.result, 'no result');
    expect(result.status === 'completed' && result.image?.length).toBeGreaterThan(8);
    expect(worker.requestsOf('generate')[0]?.return_image).toBe(true);
  });

  // client                worker
  //   generate A ───────▶ (runs)
  //   cancel A ─────────▶
  //   ◀──── job_cancelled
  //                        job_finished + job_complete for A (quirk 4) → ignored
  it('ends a running job cancelled and ignores its late result', async () => {
    const { worker, client } = await setup({ progressIntervalMs: 40 });
    const job = await client.generate(params);
    await within(
      (async () => {
        for await (const e of job) if (e.kind === 'progress') return;
      })(),
      'no progress before cancel',
    );
    expect(await client.cancel(job.jobId)).toBe('cancelled');
    expect(await job.result).toEqual({ status: 'cancelled' });
    await within(
      (async () => {
        while (!worker.publishedFor(job.jobId).includes('job_complete'))
          await new Promise((r) => setTimeout(r, 10));
      })(),
      'the worker did not still complete the cancelled job',
    );
    expect(await job.result).toEqual({ status: 'cancelled' });
    expect(await client.cancel(job.jobId)).toBe('not_found');
  });

  it('ends a queued job cancelled although the worker never publishes for it again', async () => {
    const { worker, client } = await setup({ progressIntervalMs: 50 });
    const first = await client.generate(params);
    const second = await client.generate(params);
    expect(await client.cancel(second.jobId)).toBe('cancelled');
    expect(await second.result).toEqual({ status: 'cancelled' });
    await within(first.result, 'first job did not finish');
    expect(worker.publishedFor(second.jobId)).toEqual(['job_started']);
  });

  it('recovers a missed job_complete by status polling and scanning the output dir', async () => {
    const { worker, client } = await setup({}, { recoveryIntervalMs: 100, pathMap: {} });
    client.outputDirs.add(worker.outputDir);
    worker.setFaults({ dropPub: { types: ['job_complete'] } });
    const job = await client.generate(params);
    const result = await within(job.result, 'missed job_complete was not recovered', 5000);
    expect(result.status).toBe('completed');
    if (result.status === 'completed')
      expect(result.imagePath).toMatch(new RegExp(`${job.jobId}_\\d+\\.png$`));
    expect(worker.requestsOf('job_status')).toHaveLength(1);
    expect(worker.requestsOf('status').length).toBeGreaterThan(0);
  });

  it('recovers missed PUB messages with job_status when the worker has it', async () => {
    const { worker, client } = await setup({ jobStatus: true }, { recoveryIntervalMs: 100 });
    worker.setFaults({ dropPub: { share: 1 } });
    const job = await client.generate(params);
    const result = await within(job.result, 'job_status recovery did not end the job', 5000);
    expect(result.status).toBe('completed');
    expect(worker.requestsOf('status')).toHaveLength(0);
  });

  it('fails a job as lost when the worker restarts mid-job', async () => {
    const { worker, client } = await setup(
      { progressIntervalMs: 200, progressCount: 10 },
      { recoveryIntervalMs: 100 },
    );
    const job = await client.generate(params);
    await worker.restart();
    const result = await within(job.result, 'restart was not noticed', 5000);
    expect(result).toMatchObject({ status: 'failed', code: 'lost' });
  });

  it('fails a hung job after backend.timeout_s and sends a best-effort cancel', async () => {
    const { worker, client } = await setup({}, { recoveryIntervalMs: 100 });
    worker.setFaults({ hang: true });
    const job = await client.generate(params, { timeoutS: 0.6 });
    const result = await within(job.result, 'hung job did not time out', 5000);
    expect(result).toMatchObject({ status: 'failed', code: 'timeout' });
    if (result.status === 'failed')
      expect(result.error).toMatch(/produced no result within 0.6 s \(backend.timeout_s\)/);
  });

  it('rejects a generate the worker refuses (error reply) without starting a job', async () => {
    const { client } = await setup();
    // a missing required field can only be produced by bypassing the typed params
    const bad = { ...params, model: undefined } as unknown as WorkerJobParams;
    await expect(client.generate(bad)).rejects.toThrow(/rejected generate for job .*: 'model'/);
    expect(client.inFlight).toBe(0);
  });
});
