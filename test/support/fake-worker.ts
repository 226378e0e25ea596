import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decode } from '@msgpack/msgpack';
import { Publisher, Router } from 'zeromq';
import { encode } from '../../daemon/src/protocol/codec.js';
import type { ModelInfo } from '../../daemon/src/protocol/messages.js';
import { makePng } from './png.js';
import { freePort } from './ports.js';
import { ownedTempDir } from './temp-dir.js';
import { sleep } from './wait.js';

/**
 * An in-test DGX worker peer: real ZeroMQ on 127.0.0.1, real MessagePack, and
 * the Python worker's observable behaviour from shared/PROTOCOL.md, quirks
 * included:
 *  - first `job_started` published BEFORE the `job_accepted` reply, a second
 *    one when execution begins (1); one job runs at a time (13);
 *  - coarse, non-monotonic progress, `step` 0 then a last `step: 100` (7);
 *  - `job_finished` then `job_complete` (or `job_error` on PUB) (1, 3);
 *  - cancel of a running job → `job_cancelled`, `status` stops counting it,
 *    but it still completes (4); of a queued job → nothing more, ever (5);
 *    a second cancel → job_error "Job not found or already completed";
 *  - duplicate ids accepted and run again (12);
 *  - malformed requests → `{type: "error", message}` ("Unknown request type: X",
 *    "Unknown request type: None" for a map without type, "'model'" for a missing
 *    key, Python's msgpack/AttributeError texts for frames that are not a map) (10); `job_status` unsupported unless
 *    `jobStatus: true` (11); extensions ignored unless `returnImage: true`;
 *  - results written as `<outputDir>/<job_id>_<unix_ts>.png` (16).
 * The request socket is a ROUTER speaking the REQ envelope: indistinguishable
 * from REP on the wire, but it may leave a request unanswered (fault
 * `noReply`), which a REP socket cannot do without wedging.
 */

export interface FakeWorkerOptions {
  /** Where results are written (default: a fresh temp dir, removed by close()). */
  outputDir?: string;
  /** Delay between progress messages, ms (default 20). */
  progressIntervalMs?: number;
  /** Progress messages per job (default 3). */
  progressCount?: number;
  /** Delay between job_finished and job_complete ("download"), ms (default 10). */
  downloadDelayMs?: number;
  /** Answer the `job_status` extension (default false, like the Python worker). */
  jobStatus?: boolean;
  /** Honour `return_image` (default false, like the Python worker). */
  returnImage?: boolean;
  /** Every job fails with this text (job_finished{success:false} + job_error on PUB). */
  failWith?: string;
  /** Bind PUB on REQ port + 1 (the daemon's default pairing). */
  adjacentPorts?: boolean;
  models?: ModelInfo[];
}

/** Faults, changeable at any time with setFaults(). */
export interface FakeFaults {
  /** Swallow this many of the next requests (optionally only of these types): no reply at all. */
  noReply?: { count: number; types?: string[] } | undefined;
  /** Delay every reply by this many ms. */
  replyDelayMs?: number | undefined;
  /** Answer this many of the next requests with non-MessagePack bytes. */
  garbageReplies?: number | undefined;
  /** Drop PUB messages: every message of `types`, or a `share` (0..1) of all. */
  dropPub?: { types?: string[]; share?: number } | undefined;
  /** Accept generate (job_started + job_accepted) and then never publish or finish it. */
  hang?: boolean | undefined;
}

export interface ReceivedRequest {
  /** Decoded request, or the raw bytes when not MessagePack. */
  message: Record<string, unknown> | Uint8Array;
  at: number;
}

interface FakeJob {
  id: string;
  steps: number;
  returnImage: boolean;
  state: 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
  cancelled: boolean;
  /** accepted under the `hang` fault: counted as running, never progresses */
  hung?: boolean;
  imagePath?: string;
  error?: string;
}

const DEFAULT_MODELS: ModelInfo[] = [
  {
    name: 'pixel_art_lora.safetensors',
    path: '/models/loras/pixel_art_lora.safetensors',
    model_type: 'lora',
    size_mb: 162,
  },
  {
    name: 'sd_xl_base_1.0.safetensors',
    path: '/models/checkpoints/sd_xl_base_1.0.safetensors',
    model_type: 'checkpoint',
    size_mb: 6617,
  },
  {
    name: 'sdxl_vae.safetensors',
    path: '/models/vae/sdxl_vae.safetensors',
    model_type: 'vae',
    size_mb: 319,
  },
];
const STAGES = [
  'initializing',
  'loading_models',
  'encoding',
  'sampling',
  'decoding',
  'post_processing',
] as const;
const REQUIRED = ['id', 'prompt', 'model', 'size', 'steps', 'cfg_scale'];

export class FakeWorker {
  /** The REQ endpoint to connect to (tcp://127.0.0.1:PORT). */
  req = '';
  /** The PUB endpoint to subscribe to. */
  pub = '';
  readonly outputDir: string;
  /** Every request received, in order (across restarts). */
  readonly requests: ReceivedRequest[] = [];
  /** Every update published (after dropPub filtering: only those actually sent). */
  readonly published: Record<string, unknown>[] = [];
  /** Jobs by id (last submission wins for duplicate ids). */
  readonly jobs = new Map<string, FakeJob>();
  private faults: FakeFaults = {};
  private router: Router | undefined;
  private publisher: Publisher | undefined;
  private queue: FakeJob[] = [];
  private running: FakeJob | undefined;
  private epoch = 0;
  private startedAt = Date.now();
  private wakeExecutor: (() => void) | undefined;
  /** Removes the output dir this worker made (none when the caller gave one). */
  private readonly removeOutputDir: (() => void) | undefined;
  private readonly o: Required<Omit<FakeWorkerOptions, 'outputDir' | 'failWith' | 'models'>> & {
    failWith: string | undefined;
    models: ModelInfo[];
  };

  constructor(options: FakeWorkerOptions = {}) {
    const own = options.outputDir === undefined ? ownedTempDir('fake-worker-') : undefined;
    this.outputDir = options.outputDir ?? (own?.dir as string);
    this.removeOutputDir = own?.remove;
    this.o = {
      progressIntervalMs: options.progressIntervalMs ?? 20,
      progressCount: options.progressCount ?? 3,
      downloadDelayMs: options.downloadDelayMs ?? 10,
      jobStatus: options.jobStatus ?? false,
      returnImage: options.returnImage ?? false,
      adjacentPorts: options.adjacentPorts ?? false,
      failWith: options.failWith,
      models: options.models ?? DEFAULT_MODELS,
    };
  }

  /** Bind REP (ROUTER) and PUB; on restart the same endpoints are bound again. */
  async start(): Promise<void> {
    this.startedAt = Date.now();
    const epoch = ++this.epoch;
    const router = new Router({ linger: 0 });
    const publisher = new Publisher({ linger: 0 });
    if (this.req === '') {
      if (this.o.adjacentPorts) {
        const port = await freePort();
        this.req = `tcp://127.0.0.1:${port}`;
        this.pub = `tcp://127.0.0.1:${port + 1}`;
      } else {
        await router.bind('tcp://127.0.0.1:*');
        await publisher.bind('tcp://127.0.0.1:*');
        this.req = router.lastEndpoint ?? '';
        this.pub = publisher.lastEndpoint ?? '';
      }
    }
    if (router.lastEndpoint === null) await bindRetrying(router, this.req);
    if (publisher.lastEndpoint === null) await bindRetrying(publisher, this.pub);
    this.router = router;
    this.publisher = publisher;
    void this.serve(router, epoch);
    void this.execute(epoch);
  }

  /** Replace the fault set (merged into the current one; pass `undefined` values to clear). */
  setFaults(faults: FakeFaults): void {
    this.faults = { ...this.faults, ...faults };
  }

  /** Simulate a crash + restart: sockets closed, queue and running job forgotten, uptime reset. */
  async restart(downMs = 0): Promise<void> {
    this.stop();
    if (downMs > 0) await sleep(downMs);
    await this.start();
  }

  /** Stop answering and publishing (a dead worker). start() or restart() revives it. */
  stop(): void {
    this.epoch++;
    this.router?.close();
    this.publisher?.close();
    this.router = undefined;
    this.publisher = undefined;
    this.queue = [];
    this.running = undefined;
    this.jobs.clear();
    this.wakeExecutor?.();
  }

  /** Stop and remove the temp output dir (when this worker made it). */
  async close(): Promise<void> {
    this.stop();
    this.removeOutputDir?.();
  }

  /** Publish raw bytes on PUB (e.g. a malformed frame), bypassing the codec. */
  publishRaw(bytes: Uint8Array): void {
    void this.publisher?.send(bytes).catch(() => undefined);
  }

  /** Requests of one type received so far. */
  requestsOf(type: string): Record<string, unknown>[] {
    return this.requests
      .map((r) => r.message)
      .filter((m): m is Record<string, unknown> => !(m instanceof Uint8Array) && m.type === type);
  }

  /** Published updates for one job id. */
  publishedFor(jobId: string): string[] {
    return this.published.filter((m) => m.job_id === jobId).map((m) => String(m.type));
  }

  get queueSize(): number {
    return this.queue.length;
  }

  private async serve(router: Router, epoch: number): Promise<void> {
    try {
      for await (const frames of router) {
        if (epoch !== this.epoch) return;
        // REQ envelope: [identity, empty delimiter, ...body]; a two-frame body gets one reply (14).
        const [identity] = frames;
        const body = frames.at(-1) ?? Buffer.alloc(0);
        const reply = this.handle(body);
        const f = this.faults;
        if (
          f.noReply &&
          f.noReply.count > 0 &&
          (f.noReply.types === undefined || f.noReply.types.includes(reply.requestType))
        ) {
          f.noReply.count--;
          continue;
        }
        let bytes: Uint8Array = encode(reply.message);
        if (f.garbageReplies !== undefined && f.garbageReplies > 0) {
          f.garbageReplies--;
          bytes = Buffer.from('this is not msgpack \xc1\xc1', 'latin1');
        }
        const send = async () => {
          if (f.replyDelayMs) await sleep(f.replyDelayMs);
          if (epoch === this.epoch)
            await router.send([identity as Buffer, Buffer.alloc(0), bytes]).catch(() => undefined);
        };
        if (f.replyDelayMs) void send();
        else await send();
        reply.after?.();
      }
    } catch {
      // socket closed by stop()
    }
  }

  private handle(body: Buffer): {
    requestType: string;
    message: Record<string, unknown>;
    after?: () => void;
  } {
    let msg: unknown;
    try {
      msg = decode(body);
    } catch (err) {
      this.requests.push({ message: new Uint8Array(body), at: Date.now() });
      return {
        requestType: '?',
        message: { type: 'error', message: pythonUnpackError(body, err) },
      };
    }
    if (
      msg === null ||
      typeof msg !== 'object' ||
      Array.isArray(msg) ||
      msg instanceof Uint8Array
    ) {
      this.requests.push({ message: new Uint8Array(body), at: Date.now() });
      // the Python worker calls .get on whatever it unpacked
      return {
        requestType: '?',
        message: { type: 'error', message: `'${pythonType(msg)}' object has no attribute 'get'` },
      };
    }
    const m = msg as Record<string, unknown>;
    this.requests.push({ message: m, at: Date.now() });
    if (typeof m.type !== 'string') {
      // Python: msg.get("type") is None (or the odd value) → "Unknown request type: None"
      const text = `Unknown request type: ${pythonScalar(m.type)}`;
      return { requestType: '?', message: { type: 'error', message: text } };
    }
    const type = m.type;
    const r = (message: Record<string, unknown>, after?: () => void) =>
      after ? { requestType: type, message, after } : { requestType: type, message };
    switch (type) {
      case 'ping':
        return r({ type: 'pong' });
      case 'status':
        return r({
          type: 'status_info',
          version: '1.0.0',
          queue_size: this.queue.length,
          active_jobs:
            (this.running !== undefined && !this.running.cancelled ? 1 : 0) +
            [...this.jobs.values()].filter((j) => j.hung && !j.cancelled).length,
          uptime_s: Math.floor((Date.now() - this.startedAt) / 1000),
        });
      case 'list_models':
        return r({ type: 'model_list', models: this.o.models });
      case 'cancel':
        return r(this.cancel(String(m.job_id)));
      case 'job_status':
        if (!this.o.jobStatus) break;
        return r(this.jobState(String(m.job_id)));
      case 'generate': {
        const missing = REQUIRED.find((k) => !(k in m));
        if (missing !== undefined) return r({ type: 'error', message: `'${missing}'` });
        const steps = Number(m.steps);
        const job: FakeJob = {
          id: String(m.id),
          steps,
          returnImage: this.o.returnImage && m.return_image === true,
          state: 'queued',
          cancelled: false,
        };
        this.jobs.set(job.id, job);
        // quirk 1: the first job_started goes out before the REP reply
        this.publish({ type: 'job_started', job_id: job.id, timestamp: unixS() });
        let estimate = steps * 0.1;
        if (typeof m.batch_size === 'number' && m.batch_size > 1) estimate *= m.batch_size;
        if (typeof m.animation_frames === 'number' && m.animation_frames > 1)
          estimate *= m.animation_frames;
        return r({ type: 'job_accepted', job_id: job.id, estimated_time_s: estimate }, () => {
          if (this.faults.hang) {
            job.state = 'running';
            job.hung = true;
            return;
          }
          this.queue.push(job);
          this.wakeExecutor?.();
        });
      }
    }
    return r({ type: 'error', message: `Unknown request type: ${type}` });
  }

  private cancel(jobId: string): Record<string, unknown> {
    const queued = this.queue.findIndex((j) => j.id === jobId);
    if (queued >= 0) {
      const [job] = this.queue.splice(queued, 1);
      if (job) job.state = 'cancelled';
      return { type: 'job_cancelled', job_id: jobId };
    }
    const running = this.running?.id === jobId ? this.running : this.jobs.get(jobId);
    if (running !== undefined && (running === this.running || running.hung) && !running.cancelled) {
      // quirk 4: acknowledged, no longer counted, but it keeps running and completes
      running.cancelled = true;
      return { type: 'job_cancelled', job_id: jobId };
    }
    return { type: 'job_error', job_id: jobId, error: 'Job not found or already completed' };
  }

  private jobState(jobId: string): Record<string, unknown> {
    const job = this.jobs.get(jobId);
    if (job === undefined) return { type: 'error', message: `Unknown job: ${jobId}` };
    const out: Record<string, unknown> = {
      type: 'job_state',
      job_id: jobId,
      state: job.cancelled ? 'cancelled' : job.state,
    };
    if (job.imagePath !== undefined) out.image_path = job.imagePath;
    if (job.error !== undefined) out.error = job.error;
    return out;
  }

  private publish(message: Record<string, unknown>): void {
    const drop = this.faults.dropPub;
    if (drop) {
      if (drop.types?.includes(String(message.type))) return;
      if (drop.share !== undefined && Math.random() < drop.share) return;
    }
    this.published.push(message);
    void this.publisher?.send(encode(message)).catch(() => undefined);
  }

  private async execute(epoch: number): Promise<void> {
    while (epoch === this.epoch) {
      const job = this.queue.shift();
      if (job === undefined) {
        await new Promise<void>((resolve) => {
          this.wakeExecutor = resolve;
        });
        continue;
      }
      this.running = job;
      job.state = 'running';
      await this.run(job, epoch);
      if (epoch === this.epoch) this.running = undefined;
    }
  }

  private async run(job: FakeJob, epoch: number): Promise<void> {
    const t0 = Date.now();
    const live = () => epoch === this.epoch;
    this.publish({ type: 'job_started', job_id: job.id, timestamp: unixS() });
    const coarse = [5, 2, 12, 9];
    for (let i = 0; i < this.o.progressCount; i++) {
      await sleep(this.o.progressIntervalMs);
      if (!live()) return;
      const elapsedS = (Date.now() - t0) / 1000;
      const last = i === this.o.progressCount - 1;
      this.publish({
        type: 'progress',
        job_id: job.id,
        stage: STAGES[Math.min(STAGES.length - 1, i)],
        step: last ? 100 : 0,
        total_steps: job.steps,
        percent: coarse[i % coarse.length],
        eta_s: Math.max(0, 14.5 - elapsedS),
      });
    }
    const durationS = (Date.now() - t0) / 1000;
    if (this.o.failWith !== undefined) {
      this.publish({ type: 'job_finished', job_id: job.id, success: false, duration_s: 0 });
      this.publish({ type: 'job_error', job_id: job.id, error: this.o.failWith });
      job.state = 'failed';
      job.error = this.o.failWith;
      return;
    }
    this.publish({ type: 'job_finished', job_id: job.id, success: true, duration_s: durationS });
    await sleep(this.o.downloadDelayMs);
    if (!live()) return;
    const png = makePng(8, 8);
    const imagePath = join(this.outputDir, `${job.id}_${unixS()}.png`);
    writeFileSync(imagePath, png);
    job.imagePath = imagePath;
    job.state = 'completed';
    const complete: Record<string, unknown> = {
      type: 'job_complete',
      job_id: job.id,
      image_path: imagePath,
      duration_s: (Date.now() - t0) / 1000,
    };
    if (job.returnImage) complete.image = png;
    this.publish(complete);
  }
}

/** Start a fake worker (see FakeWorker). Close it in afterEach. */
export async function startFakeWorker(options: FakeWorkerOptions = {}): Promise<FakeWorker> {
  const worker = new FakeWorker(options);
  await worker.start();
  return worker;
}

function unixS(): number {
  return Math.floor(Date.now() / 1000);
}

async function bindRetrying(socket: Router | Publisher, endpoint: string): Promise<void> {
  // a port closed a moment ago can still be in use for a few ms
  const deadline = Date.now() + 2000;
  for (;;) {
    try {
      await socket.bind(endpoint);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(20);
    }
  }
}

/**
 * What Python's `msgpack.unpackb` raises, as `str(exception)`, for a frame it
 * cannot read (shared/protocol/python-capture, frames 127–132): invalid bytes
 * raise a bare FormatError (""), trailing bytes ExtraData, a short frame
 * "incomplete input".
 */
function pythonUnpackError(body: Buffer, err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  if (body.length === 0 || text.startsWith('Insufficient data'))
    return 'Unpack failed: incomplete input';
  if (text.startsWith('Extra ')) return 'unpack(b) received extra data.';
  return '';
}

/** Python's type name of an unpacked non-map value (`'list' object has no attribute 'get'`). */
function pythonType(value: unknown): string {
  if (value === null || value === undefined) return 'NoneType';
  if (Array.isArray(value)) return 'list';
  if (value instanceof Uint8Array) return 'bytes';
  if (typeof value === 'string') return 'str';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  return 'int'; // bigint
}

/** Python's str() of a scalar `type` value (None, True, 5). */
function pythonScalar(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  return String(value);
}
