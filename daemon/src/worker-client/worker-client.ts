import { randomUUID } from 'node:crypto';
import { dirname } from 'node:path';
import type { z } from 'zod';
import { connectionFailed, DaemonError, errorMessage, isDaemonError } from '../errors.js';
import { silentLogger } from '../log.js';
import type {
  JobStateSchema,
  ModelInfo,
  StatusInfoSchema,
  WorkerReply,
  WorkerRequest,
} from '../protocol/messages.js';
import type { WorkerClientOptions } from './client-options.js';
import { type CurveClientKeys, HandshakeRefused } from './curve-link.js';
import { findResultFile, mapWorkerPath } from './image-fetch.js';
import { superviseJob } from './job-supervisor.js';
import { JobTracker } from './job-tracker.js';
import { ReqChannel } from './req-channel.js';
import { requiredExtensions, toWireRequest, type WorkerJobParams } from './types.js';
import { UpdateFeed } from './update-feed.js';

export type StatusInfo = z.infer<typeof StatusInfoSchema>;
export type JobStateReply = z.infer<typeof JobStateSchema>;
export { clientOptionsFromConfig, type WorkerClientOptions } from './client-options.js';

/**
 * Talks to one DGX worker (PROTOCOL.md): REQ/REP with Lazy-Pirate recovery and
 * SUB for job updates. Requests are serialised on one REQ socket. Jobs are
 * tracked by `JobTracker`s fed from SUB and supervised for missed messages.
 */
export class WorkerClient {
  readonly name: string;
  readonly req: string;
  readonly pub: string;
  readonly opts: Required<Omit<WorkerClientOptions, 'name' | 'curve'>>;
  /** The CURVE keys of this link; undefined for plaintext. */
  readonly curve: CurveClientKeys | undefined;
  /** undefined until known; false once the worker answered job_status with "Unknown request type". */
  jobStatusSupported: boolean | undefined;
  /** Extensions the worker listed in capabilities_info; empty once it answered "Unknown request type". */
  private extensionsKnown: Promise<ReadonlySet<string>> | undefined;
  /** Last status_info received (any caller). */
  lastStatus: StatusInfo | undefined;
  /** Directories where this worker's results were seen (local side), scanned when a result is missed. */
  readonly outputDirs = new Set<string>();
  private readonly channel: ReqChannel;
  private readonly feed: UpdateFeed;
  private readonly jobs = new Map<string, JobTracker>();
  private lastReplyAt = 0;
  private closed = false;

  constructor(options: WorkerClientOptions) {
    this.req = options.req;
    this.pub = options.pub;
    this.name = options.name ?? options.req;
    this.opts = {
      req: options.req,
      pub: options.pub,
      requestTimeoutMs: options.requestTimeoutMs ?? 5000,
      pingTimeoutMs: options.pingTimeoutMs ?? 250,
      maxRetries: options.maxRetries ?? 3,
      timeoutS: options.timeoutS ?? 300,
      returnImage: options.returnImage ?? true,
      pathMap: options.pathMap ?? {},
      recoveryIntervalMs: options.recoveryIntervalMs ?? 2000,
      logger: options.logger ?? silentLogger,
    };
    for (const local of Object.values(this.opts.pathMap)) this.outputDirs.add(local);
    this.curve = options.curve;
    this.channel = new ReqChannel(this.req, this.opts.logger, this.curve);
    this.feed = new UpdateFeed(this.pub, this.opts.logger, this.curve);
  }

  /** Jobs sent by this client that have not ended. */
  get inFlight(): number {
    return this.jobs.size;
  }

  /** Count of PUB frames that could not be decoded (each was logged and skipped). */
  get badUpdateFrames(): number {
    return this.feed.badFrames;
  }

  /** Why the worker's PUB refused this client's SUB, when it did (logged once). */
  get updatesRefusal(): string | undefined {
    return this.feed.refusal;
  }

  /** Count of REQ sockets reopened after a time-out (Lazy Pirate), for status and tests. */
  get reopenCount(): number {
    return this.channel.reopenCount;
  }

  /**
   * Round trip one `ping`; resolves with the round-trip time in ms. No retry:
   * throws DaemonError('WORKER_UNREACHABLE') with "Backend connection failed: no
   * DGX worker answered at <req> within <ms> ms; ..." when no pong arrives in
   * `timeoutMs` (default ping_timeout_ms), or a HandshakeRefused (same code) naming the key
   * setting to fix when the worker turned the connection down.
   */
  async ping(timeoutMs = this.opts.pingTimeoutMs): Promise<number> {
    const t0 = performance.now();
    try {
      const reply = await this.channel.request({ type: 'ping' }, { timeoutMs, retries: 0 });
      this.expect(reply, 'pong', 'ping');
    } catch (err) {
      if (
        isDaemonError(err, 'WORKER_TIMEOUT', 'WORKER_UNREACHABLE') &&
        !(err instanceof HandshakeRefused)
      ) {
        throw connectionFailed(
          `no DGX worker answered at ${this.req} within ${timeoutMs} ms; ` +
            'start it (dgx-pixels worker) or check backend.zmq_endpoint',
          { cause: err },
        );
      }
      throw err;
    }
    return performance.now() - t0;
  }

  /** `status` → status_info (queue_size, active_jobs, uptime_s, version). Throws WORKER_TIMEOUT/WORKER_ERROR/BAD_FRAME. */
  async status(
    timeoutMs = this.opts.requestTimeoutMs,
    retries = this.opts.maxRetries,
  ): Promise<StatusInfo> {
    const reply = await this.call({ type: 'status' }, timeoutMs, retries);
    const info = this.expect(reply, 'status_info', 'status');
    this.lastStatus = info;
    return info;
  }

  /** `list_models` → the worker's models, sorted by name as it sent them. */
  async listModels(timeoutMs = this.opts.requestTimeoutMs): Promise<ModelInfo[]> {
    const reply = await this.call({ type: 'list_models' }, timeoutMs, this.opts.maxRetries);
    return this.expect(reply, 'model_list', 'list_models').models;
  }

  /**
   * Cancel `jobId`. A job this client tracks ends `cancelled` whatever the
   * worker says (a running job keeps running there and its late result is
   * ignored, PROTOCOL.md 4–5). Resolves 'cancelled' (job_cancelled),
   * 'not_found' (job_error "Job not found or already completed") or
   * 'unreachable' (no reply; the job is still ended locally).
   */
  async cancel(jobId: string): Promise<'cancelled' | 'not_found' | 'unreachable'> {
    const tracker = this.jobs.get(jobId);
    tracker?.end({ status: 'cancelled' });
    try {
      const reply = await this.call(
        { type: 'cancel', job_id: jobId },
        this.opts.requestTimeoutMs,
        0,
      );
      if (reply.type === 'job_cancelled') return 'cancelled';
      if (reply.type === 'job_error' || reply.type === 'error') return 'not_found';
      throw this.unexpected(reply, 'cancel');
    } catch (err) {
      if (isDaemonError(err, 'WORKER_TIMEOUT', 'WORKER_UNREACHABLE')) return 'unreachable';
      throw err;
    }
  }

  /**
   * Extension `job_status`. Resolves undefined when the worker does not support
   * it (answered "Unknown request type"; remembered, not asked again). Throws
   * DaemonError('JOB_NOT_FOUND') when the worker supports it but does not know the job.
   */
  async jobStatus(
    jobId: string,
    timeoutMs = this.opts.requestTimeoutMs,
  ): Promise<JobStateReply | undefined> {
    if (this.jobStatusSupported === false) return undefined;
    const reply = await this.call({ type: 'job_status', job_id: jobId }, timeoutMs, 0);
    if (reply.type === 'job_state') {
      this.jobStatusSupported = true;
      return reply;
    }
    if (reply.type === 'error' && /unknown request type/i.test(reply.message)) {
      this.jobStatusSupported = false;
      this.opts.logger.info(
        { worker: this.name },
        'worker has no job_status extension; falling back to status polling',
      );
      return undefined;
    }
    if (reply.type === 'error' || reply.type === 'job_error') {
      this.jobStatusSupported = true;
      throw new DaemonError(
        'JOB_NOT_FOUND',
        `worker ${this.name} does not know job ${jobId}: ${reply.type === 'error' ? reply.message : reply.error}`,
      );
    }
    throw this.unexpected(reply, 'job_status');
  }

  /**
   * Extension `capabilities`: the extension names the worker honours, asked once and
   * remembered (a worker that answers "Unknown request type", like the Python one,
   * has none). A worker that does not answer is asked again next time. Throws
   * WORKER_TIMEOUT / WORKER_UNREACHABLE when it does not answer.
   */
  capabilities(timeoutMs = this.opts.requestTimeoutMs): Promise<ReadonlySet<string>> {
    this.extensionsKnown ??= this.call({ type: 'capabilities' }, timeoutMs, 0).then(
      (reply): ReadonlySet<string> => {
        if (reply.type === 'capabilities_info') return new Set(reply.extensions);
        if (reply.type === 'error' && /unknown request type/i.test(reply.message)) return new Set();
        throw this.unexpected(reply, 'capabilities');
      },
    );
    const asked = this.extensionsKnown;
    asked.catch(() => {
      if (this.extensionsKnown === asked) this.extensionsKnown = undefined;
    });
    return asked;
  }

  /**
   * Submit a generation. Connects SUB first (PUB drops messages to late
   * joiners), checks the worker answers a ping (fails fast, skipped when it
   * answered in the last second), then sends `generate` once (never resent:
   * a duplicate would run twice). Resolves with the job's tracker once the
   * worker accepted it; its `result` resolves when the job ends, and it is
   * supervised (missed PUB messages → job_status or status polling + output
   * scan; overall time-out `timeoutS`).
   * Rejects (the job did not start; safe to retry elsewhere) with
   * WORKER_UNREACHABLE, WORKER_TIMEOUT (no reply to generate), WORKER_ERROR
   * (job_error/error reply) or BAD_FRAME.
   */
  async generate(
    params: WorkerJobParams,
    options: { jobId?: string; timeoutS?: number } = {},
  ): Promise<JobTracker> {
    if (this.closed) throw connectionFailed(`worker client for ${this.req} is closed`);
    const jobId = options.jobId ?? randomUUID();
    const needed = requiredExtensions(params);
    if (needed.length > 0) {
      // the Python worker would drop these fields silently and draw something else
      const listed = await this.capabilities();
      const missing = needed.filter((e) => !listed.has(e));
      if (missing.length > 0) {
        throw new DaemonError(
          'WORKER_ERROR',
          `worker ${this.name} (${this.req}) does not advertise the ${missing.map((e) => `"${e}"`).join(', ')} extension${missing.length > 1 ? 's' : ''} (capabilities${listed.size === 0 ? ': it lists none, like the Python DGX worker' : ''}), so it would ignore ${missing.join(', ')}; run an embedded worker (dgx-pixels worker --engine procedural) or leave ${missing.join(', ')} out`,
        );
      }
    }
    const subscribed = this.feed.ensureConnected(this.opts.pingTimeoutMs);
    if (Date.now() - this.lastReplyAt > 1000) await this.ping();
    await subscribed;
    const tracker = new JobTracker(jobId, params.steps);
    this.jobs.set(jobId, tracker);
    const unlisten = this.feed.listen(jobId, (u) => {
      tracker.handleUpdate(u);
      if (u.type === 'job_complete')
        this.outputDirs.add(dirname(mapWorkerPath(u.image_path, this.opts.pathMap)));
    });
    void tracker.result.then(() => {
      unlisten();
      if (this.jobs.get(jobId) === tracker) this.jobs.delete(jobId);
    });
    let reply: WorkerReply;
    try {
      reply = await this.call(
        toWireRequest(jobId, params, this.opts.returnImage),
        this.opts.requestTimeoutMs,
        0,
      );
    } catch (err) {
      tracker.end({ status: 'failed', error: errorMessage(err), code: 'not_started' });
      // no reply does not mean not queued: ask the worker to drop it, so a re-send elsewhere does not run twice
      if (isDaemonError(err, 'WORKER_TIMEOUT')) void this.cancel(jobId).catch(() => undefined);
      throw err;
    }
    if (reply.type !== 'job_accepted') {
      const why =
        reply.type === 'job_error'
          ? reply.error
          : reply.type === 'error'
            ? reply.message
            : `unexpected ${reply.type}`;
      tracker.end({ status: 'failed', error: why, code: 'rejected' });
      // the Python worker can answer job_error after it queued the job (PROTOCOL.md 6): drop it there
      if (reply.type === 'job_error') void this.cancel(jobId).catch(() => undefined);
      // a full queue (reason busy, the embedded worker's extension) is about this worker, not the job
      throw new DaemonError(
        reply.type === 'job_error' && reply.reason === 'busy' ? 'BUSY' : 'WORKER_ERROR',
        `worker ${this.name} rejected generate for job ${jobId}: ${why}`,
      );
    }
    tracker.markAccepted(reply.estimated_time_s);
    superviseJob(this, tracker, options.timeoutS ?? this.opts.timeoutS);
    return tracker;
  }

  /** The tracker of a job this client sent and that has not ended. */
  job(jobId: string): JobTracker | undefined {
    return this.jobs.get(jobId);
  }

  /** Look for `<jobId>_*.png` in the known local output dirs. */
  findResultFile(jobId: string): Promise<string | undefined> {
    return findResultFile(jobId, this.outputDirs);
  }

  /** End every tracked job as failed `code` with `error` (e.g. the worker died). */
  failJobs(
    filter: (t: JobTracker) => boolean,
    error: string,
    code: 'lost' | 'unreachable',
  ): JobTracker[] {
    const ended: JobTracker[] = [];
    for (const t of [...this.jobs.values()]) {
      if (filter(t) && t.end({ status: 'failed', error, code })) ended.push(t);
    }
    return ended;
  }

  /** Close sockets (linger 0); tracked jobs end failed 'unreachable'. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.failJobs(() => true, `worker client for ${this.req} closed`, 'unreachable');
    this.channel.close();
    this.feed.close();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private async call(
    message: WorkerRequest,
    timeoutMs: number,
    retries: number,
  ): Promise<WorkerReply> {
    const reply = await this.channel.request(message, { timeoutMs, retries });
    this.lastReplyAt = Date.now();
    return reply;
  }

  private expect<T extends WorkerReply['type']>(
    reply: WorkerReply,
    type: T,
    request: string,
  ): Extract<WorkerReply, { type: T }> {
    if (reply.type === type) return reply as Extract<WorkerReply, { type: T }>;
    throw this.unexpected(reply, request);
  }

  private unexpected(reply: WorkerReply, request: string): DaemonError {
    const detail =
      reply.type === 'error'
        ? `: ${reply.message}`
        : reply.type === 'job_error'
          ? `: ${reply.error}`
          : '';
    return new DaemonError(
      'WORKER_ERROR',
      `worker ${this.name} answered "${request}" with ${reply.type}${detail}`,
    );
  }
}
