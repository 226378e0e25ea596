import type { Logger } from '../log.js';
import type { JobStore } from './job-store.js';
import type { PendingJobs } from './pending-jobs.js';
import type { JobOutcome, JobProgress, WorkerCapabilities } from './types.js';
import type { WorkerClient, WorkerClientOptions } from './worker-client.js';

export interface WorkerPoolOptions {
  /** One entry per worker; each becomes a WorkerClient. */
  workers: WorkerClientOptions[];
  /** Most jobs queued or running at once; more → BUSY (performance.max_pending_jobs, default 256). */
  maxPendingJobs?: number;
  /** The process's count of pending jobs, shared with the service (default: the pool's own, of maxPendingJobs). */
  pendingJobs?: PendingJobs;
  /** Health check period, ms (backend.health_interval_ms, default 2000; 0 disables). */
  healthIntervalMs?: number;
  /** Where completed jobs' raw PNGs are written (default: <tmpdir>/dgx-pixels-outputs). */
  outputDir: string;
  /** Job records + journal (default: in memory only). */
  store?: JobStore;
  /** backend.comfyui_url, for the /view image fallback. */
  comfyuiUrl?: string | undefined;
  /** One health-check status round trip, ms (default max(1000, ping time-out)). */
  healthTimeoutMs?: number;
  /** Workers tried per job before it fails (default 3). */
  maxAttempts?: number;
  logger?: Logger;
}

export interface SubmitOptions {
  /** Aborting cancels the job (like cancel(jobId)). */
  signal?: AbortSignal;
  /** Called with clamped, monotonic progress. Exceptions are logged and ignored. */
  onProgress?: (progress: JobProgress) => void;
  /** Use this id instead of a fresh UUID (must be unique). */
  jobId?: string;
  /**
   * The job whose place under max_pending_jobs this one uses (the service's job; a character
   * set's worker jobs use their set's). Without one, or when that job holds no place, the job
   * takes its own place (BUSY when none is free).
   */
  countedAs?: string;
}

/** A job between submit and its outcome. */
export interface PendingJob {
  /** It holds its own place under max_pending_jobs (it was submitted on nobody's). */
  ownPlace: boolean;
  /** Set by the runner: cancels the job wherever it is. */
  cancel: () => Promise<unknown>;
  done: Promise<JobOutcome>;
}

/** One worker inside the pool. */
export interface PoolWorker {
  client: WorkerClient;
  reachable: boolean | undefined;
  error?: string | undefined;
  /** Consecutive failed health checks. */
  failures: number;
  /** Jobs of this pool assigned to it and not ended (counted from the pick, before the worker replied). */
  assigned: number;
}

/** What running one pool job needs of its pool (WorkerPool implements it; pool-job.ts uses it). */
export interface PoolJobHost {
  readonly store: JobStore;
  readonly workers: readonly PoolWorker[];
  readonly log: Logger;
  readonly isClosed: boolean;
  /** Workers tried per job before it fails. */
  readonly attemptsPerJob: number;
  /** The least-loaded reachable worker not in `exclude`. */
  pickWorker(exclude: ReadonlySet<PoolWorker>): PoolWorker | undefined;
  /** Track a cancel request so close() can wait for it; returns it. */
  noteCancel(request: Promise<unknown>): Promise<unknown>;
  /** The bytes of a worker result by every route (inline, path_map, ComfyUI /view). */
  fetchImage(
    client: WorkerClient,
    result: { imagePath: string; image?: Uint8Array | undefined },
  ): Promise<{ bytes: Buffer }>;
  /** Write a completed job's raw PNG; returns its path. */
  saveImage(jobId: string, bytes: Buffer): Promise<string>;
  /** Every worker's protocol extensions (asked once per worker). */
  capabilities(): Promise<WorkerCapabilities[]>;
}
