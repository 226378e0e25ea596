import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { workerEndpoints } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { connectionFailed, DaemonError, errorMessage } from '../errors.js';
import { type Logger, silentLogger } from '../log.js';
import type { ModelInfo } from '../protocol/messages.js';
import { fetchResultImage } from './image-fetch.js';
import { type JobRecord, JobStore } from './job-store.js';
import { PendingJobs } from './pending-jobs.js';
import { runPoolJob } from './pool-job.js';
import type {
  PendingJob,
  PoolJobHost,
  PoolWorker,
  SubmitOptions,
  WorkerPoolOptions,
} from './pool-types.js';
import type {
  JobHandle,
  JobOutcome,
  WorkerCapabilities,
  WorkerHealth,
  WorkerJobParams,
} from './types.js';
import { clientOptionsFromConfig, WorkerClient } from './worker-client.js';
import { WorkerHealthMonitor } from './worker-health.js';

export type { PendingJob, PoolWorker, SubmitOptions, WorkerPoolOptions } from './pool-types.js';

/**
 * Spreads jobs over several DGX workers (DESIGN.md "Scale"): least-loaded
 * dispatch (this daemon's in-flight jobs + the worker's last queue_size), a
 * periodic health check, jobs that a dead or restarted worker had not started
 * yet re-sent elsewhere, and a bound on pending jobs (BUSY).
 *
 * This is the API the MCP service calls: submit → JobHandle, cancel, status,
 * listModels, job, close.
 */
export class WorkerPool implements PoolJobHost {
  readonly workers: PoolWorker[];
  readonly store: JobStore;
  readonly outputDir: string;
  /** The process's count under max_pending_jobs (shared with the service when it made this pool). */
  readonly pendingJobs: PendingJobs;
  private readonly maxAttempts: number;
  private readonly logger: Logger;
  private readonly comfyuiUrl: string | undefined;
  private readonly pending = new Map<string, PendingJob>();
  private readonly monitor: WorkerHealthMonitor;
  private readonly recentDurationsS: number[] = [];
  private closed = false;
  /**
   * Resolves (never rejects) once the jobs the previous daemon left in flight were looked up
   * on their workers (recoverInterrupted); at once when there were none.
   */
  readonly recovered: Promise<string[]>;
  /** Cancel requests on their way to a worker; close() lets them out first. */
  private readonly cancels = new Set<Promise<unknown>>();

  constructor(options: WorkerPoolOptions) {
    if (options.workers.length === 0)
      throw new DaemonError(
        'CONFIG_INVALID',
        'the worker pool needs at least one worker (backend.zmq_endpoint or backend.workers)',
      );
    this.logger = options.logger ?? silentLogger;
    this.workers = options.workers.map((w) => ({
      client: new WorkerClient({ ...w, logger: w.logger ?? this.logger }),
      reachable: undefined,
      failures: 0,
      assigned: 0,
    }));
    this.store = options.store ?? JobStore.open(undefined);
    this.outputDir = options.outputDir;
    this.pendingJobs = options.pendingJobs ?? new PendingJobs(options.maxPendingJobs ?? 256);
    this.pendingJobs.retryAfterS = () => this.retryAfterS();
    this.maxAttempts = options.maxAttempts ?? 3;
    this.comfyuiUrl = options.comfyuiUrl;
    this.monitor = new WorkerHealthMonitor(
      this.workers,
      options.healthIntervalMs ?? 2000,
      this.logger,
      options.healthTimeoutMs ??
        Math.max(1000, ...options.workers.map((w) => w.pingTimeoutMs ?? 250)),
    );
    this.recovered =
      this.store.interrupted.size > 0 ? this.recoverInterrupted() : Promise.resolve([]);
  }

  /**
   * A pool for every worker of `config` (workerEndpoints): timeouts, retries,
   * path_map, return_image from `backend`, max_pending_jobs from
   * `performance`, outputs in `<state_dir>/<generation.output_dir>`. Pass
   * `store` to journal jobs (JobStore.open(config.state_dir)), `pendingJobs` to share the
   * service's count of pending jobs.
   */
  static fromConfig(
    config: Config,
    extra: { logger?: Logger; store?: JobStore; pendingJobs?: PendingJobs } = {},
  ): WorkerPool {
    const outputDir = isAbsolute(config.generation.output_dir)
      ? config.generation.output_dir
      : resolve(config.state_dir, config.generation.output_dir);
    const options: WorkerPoolOptions = {
      workers: workerEndpoints(config).map((e) => clientOptionsFromConfig(config, e, extra.logger)),
      maxPendingJobs: config.performance.max_pending_jobs,
      healthIntervalMs: config.backend.health_interval_ms,
      outputDir,
      comfyuiUrl: config.backend.comfyui_url,
      maxAttempts: config.backend.max_retries + 1,
    };
    if (extra.logger !== undefined) options.logger = extra.logger;
    if (extra.store !== undefined) options.store = extra.store;
    if (extra.pendingJobs !== undefined) options.pendingJobs = extra.pendingJobs;
    return new WorkerPool(options);
  }

  /**
   * Jobs that were in flight when the previous daemon stopped (JobStore.interrupted): ask the
   * worker each was sent to (job_status, else a `<job_id>_*.png` scan of the path_map dirs) and,
   * when it finished the job meanwhile, fetch and save the image and mark the job completed.
   * Runs once at construction; resolves with the recovered ids, never throws.
   */
  async recoverInterrupted(): Promise<string[]> {
    const recovered: string[] = [];
    await Promise.all(
      [...this.store.interrupted].map(async (jobId) => {
        const record = this.store.get(jobId);
        const worker = this.workers.find((w) => w.client.name === record?.workerName);
        if (worker === undefined) return;
        try {
          const state = await worker.client.jobStatus(jobId).catch(() => undefined);
          const imagePath =
            (state?.state === 'completed' ? state.image_path : undefined) ??
            (await worker.client.findResultFile(jobId));
          if (imagePath === undefined) return;
          const { bytes } = await this.fetchImage(worker.client, { imagePath });
          const saved = await this.saveImage(jobId, bytes);
          this.store.recover(jobId, {
            imagePath: saved,
            durationS: 0,
            workerName: worker.client.name,
          });
          recovered.push(jobId);
          this.logger.info(
            { jobId, worker: worker.client.name },
            'recovered a job finished while the daemon was down',
          );
        } catch (err) {
          this.logger.warn(
            { jobId, err: errorMessage(err) },
            'could not recover an interrupted job',
          );
        }
      }),
    );
    return recovered;
  }

  /** Jobs queued or running in this pool. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /**
   * Start a job; returns at once with its id. `done` never rejects: it
   * resolves `completed` (PNG bytes in hand, signature checked, also written to
   * `imagePath`), `failed` (with the reason, e.g. "Backend connection failed:
   * ...") or `cancelled`.
   * Throws DaemonError('BUSY') when performance.max_pending_jobs jobs are
   * already pending (PendingJobs: message says when to retry) and the job is not
   * `countedAs` one holding a place, 'NOT_READY' after close().
   */
  submit(params: WorkerJobParams, options: SubmitOptions = {}): JobHandle {
    if (this.closed) throw new DaemonError('NOT_READY', 'the worker pool is closed');
    const jobId = options.jobId ?? randomUUID();
    const counted = options.countedAs;
    // a job on nobody's place takes its own, held until it leaves `pending`
    const ownPlace = counted === undefined || !this.pendingJobs.holds(counted);
    if (ownPlace) this.pendingJobs.take(jobId);
    try {
      this.store.create(jobId, params);
    } catch (err) {
      if (ownPlace) this.pendingJobs.release(jobId);
      throw err;
    }
    const entry: PendingJob = {
      ownPlace,
      cancel: () => Promise.resolve(),
      done: Promise.resolve({ status: 'cancelled' }),
    };
    this.pending.set(jobId, entry);
    const done = runPoolJob(this, jobId, params, options, entry)
      .catch((err: unknown): JobOutcome => {
        this.logger.error({ jobId, err: errorMessage(err) }, 'job runner failed');
        return { status: 'failed', error: errorMessage(err), code: 'JOB_FAILED' };
      })
      .then((outcome) => {
        if (this.pending.get(jobId) === entry) this.pending.delete(jobId);
        if (ownPlace) this.pendingJobs.release(jobId);
        this.finish(jobId, outcome);
        return outcome;
      });
    entry.done = done;
    return { jobId, done };
  }

  /**
   * Cancel a pending job: the worker is told (best effort) and the job ends
   * `cancelled` at once, even if the worker keeps running it (PROTOCOL.md 4).
   * Resolves false when the job is not pending (unknown or already ended).
   */
  async cancel(jobId: string): Promise<boolean> {
    const entry = this.pending.get(jobId);
    if (entry === undefined) return false;
    // it ends cancelled now, so its place under max_pending_jobs is free now, even while its
    // runner still waits for the worker to drop it (a request still on its way, for one)
    this.pending.delete(jobId);
    if (entry.ownPlace) this.pendingJobs.release(jobId);
    // wait for the worker's answer: a daemon that exits right after must not drop the request
    await entry.cancel();
    return true;
  }

  /**
   * Every worker's health, asked now (status with the ping time-out, in
   * parallel): reachable, version, queue_size, active_jobs, uptime, this
   * daemon's in-flight count, and the error when unreachable.
   */
  async status(): Promise<WorkerHealth[]> {
    await this.monitor.checkAll();
    return this.workers.map((w) => {
      const s = w.client.lastStatus;
      return {
        name: w.client.name,
        req: w.client.req,
        pub: w.client.pub,
        reachable: w.reachable === true,
        version: s?.version,
        queueSize: s?.queue_size,
        activeJobs: s?.active_jobs,
        uptimeS: s?.uptime_s,
        inFlight: w.assigned,
        error: w.reachable === true ? undefined : w.error,
      };
    });
  }

  /**
   * Models of every reachable worker, unique by name, sorted by name
   * (case-insensitive, like the Python worker). Throws WORKER_UNREACHABLE when
   * no worker answers.
   */
  async listModels(): Promise<ModelInfo[]> {
    // ping first: a dead worker fails in ping_timeout_ms instead of request_timeout_ms × retries
    const results = await Promise.allSettled(
      this.workers.map(async (w) => {
        await w.client.ping();
        return w.client.listModels();
      }),
    );
    const byName = new Map<string, ModelInfo>();
    const errors: string[] = [];
    for (const r of results) {
      if (r.status === 'fulfilled')
        for (const m of r.value) if (!byName.has(m.name)) byName.set(m.name, m);
      if (r.status === 'rejected') errors.push(errorMessage(r.reason));
    }
    if (byName.size === 0 && errors.length === results.length) {
      throw connectionFailed(`no DGX worker answered list_models: ${errors.join('; ')}`);
    }
    return [...byName.values()].sort((a, b) =>
      a.name.toLowerCase().localeCompare(b.name.toLowerCase()),
    );
  }

  /**
   * Every worker's protocol extensions (`capabilities`, asked once per worker and
   * remembered): `extensions` is empty for a worker without the request (the Python
   * one), undefined with `error` for a worker that did not answer.
   */
  async capabilities(): Promise<WorkerCapabilities[]> {
    return Promise.all(
      this.workers.map(async (w): Promise<WorkerCapabilities> => {
        try {
          return {
            name: w.client.name,
            req: w.client.req,
            extensions: [...(await w.client.capabilities())],
          };
        } catch (err) {
          return {
            name: w.client.name,
            req: w.client.req,
            extensions: undefined,
            error: errorMessage(err),
          };
        }
      }),
    );
  }

  /** The record of a job (pending or recent, including ones from before a daemon restart). */
  job(jobId: string): JobRecord | undefined {
    return this.store.get(jobId);
  }

  /** Stop the health check, cancel nothing on the workers, close sockets; pending jobs end failed. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.monitor.stop();
    // closing the sockets (linger 0) would drop cancels still queued: a daemon that exits on
    // stdin EOF must really cancel its jobs. Bounded: each cancel has its request time-out.
    if (this.cancels.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.cancels]),
        new Promise((r) => {
          timer = setTimeout(r, 2000);
        }),
      ]);
      clearTimeout(timer);
    }
    for (const w of this.workers) w.client.close();
    await Promise.allSettled([...this.pending.values()].map((p) => p.done));
  }

  /** Note a cancel request in flight (pool-job) so close() waits for it; returns it. */
  noteCancel(request: Promise<unknown>): Promise<unknown> {
    this.cancels.add(request);
    void request.finally(() => this.cancels.delete(request));
    return request;
  }

  /** Least-loaded reachable worker not in `exclude`; unknown-health workers count as reachable. */
  pickWorker(exclude: ReadonlySet<PoolWorker>): PoolWorker | undefined {
    const candidates = this.workers.filter((w) => !exclude.has(w) && !w.client.isClosed);
    const alive = candidates.filter((w) => w.reachable !== false);
    const pool = alive.length > 0 ? alive : candidates;
    let best: PoolWorker | undefined;
    let bestLoad = Number.POSITIVE_INFINITY;
    for (const w of pool) {
      const load = w.assigned + (w.client.lastStatus?.queue_size ?? 0);
      if (load < bestLoad) [best, bestLoad] = [w, load];
    }
    return best;
  }

  /** Write a completed job's PNG under outputDir; returns its path. */
  async saveImage(jobId: string, bytes: Buffer): Promise<string> {
    await mkdir(this.outputDir, { recursive: true });
    const path = join(this.outputDir, `${jobId}.png`);
    await writeFile(path, bytes);
    return path;
  }

  /** Get the bytes of a worker result by every route (inline, path_map, ComfyUI /view). */
  fetchImage(client: WorkerClient, result: { imagePath: string; image?: Uint8Array | undefined }) {
    return fetchResultImage(result, { pathMap: client.opts.pathMap, comfyuiUrl: this.comfyuiUrl });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get log(): Logger {
    return this.logger;
  }

  get attemptsPerJob(): number {
    return this.maxAttempts;
  }

  private finish(jobId: string, outcome: JobOutcome): void {
    if (outcome.status === 'completed') {
      this.recentDurationsS.push(outcome.durationS);
      if (this.recentDurationsS.length > 20) this.recentDurationsS.shift();
    }
    const record = this.store.get(jobId);
    if (record === undefined || ['completed', 'failed', 'cancelled'].includes(record.status))
      return;
    try {
      if (outcome.status === 'completed') {
        this.store.transition(jobId, 'completed', {
          result: {
            imagePath: outcome.imagePath,
            durationS: outcome.durationS,
            workerName: outcome.workerName,
          },
        });
      } else if (outcome.status === 'failed')
        this.store.transition(jobId, 'failed', { error: outcome.error });
      else this.store.transition(jobId, 'cancelled');
    } catch (err) {
      this.logger.error({ jobId, err: errorMessage(err) }, 'could not record job outcome');
    }
  }

  /** Seconds until a slot is likely free (at least 1). */
  private retryAfterS(): number {
    // every worker frees a slot about once per mean job duration
    const d = this.recentDurationsS;
    const meanS = d.length > 0 ? d.reduce((a, b) => a + b, 0) / d.length : 10;
    return Math.max(1, Math.ceil(meanS / this.workers.length));
  }
}
