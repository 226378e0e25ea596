import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { ModelInfo } from '../protocol/messages.js';
import type { JobRecord as BackendJobRecord } from '../worker-client/job-store.js';
import type { PendingJobs } from '../worker-client/pending-jobs.js';
import type { SubmitOptions } from '../worker-client/pool-types.js';
import type {
  JobHandle,
  JobOutcome,
  JobProgress,
  WorkerCapabilities,
  WorkerHealth,
  WorkerJobParams,
} from '../worker-client/types.js';

export type {
  BackendJobRecord,
  JobHandle,
  JobOutcome,
  JobProgress,
  ModelInfo,
  SubmitOptions,
  WorkerCapabilities,
  WorkerHealth,
  WorkerJobParams,
};

/**
 * The one seam of the SpriteService: the part of backend's WorkerPool it calls,
 * in backend's own types (a WorkerPool is one). Tests of the MCP layer pass a
 * fake; everything else gets the process's single WorkerPool + JobStore.
 */
export interface GenerationBackend {
  /** Start a job under the caller's id (`options.jobId`): one id from the MCP answer to the worker. */
  submit(params: WorkerJobParams, options: SubmitOptions & { jobId: string }): JobHandle;
  cancel(jobId: string): Promise<boolean>;
  status(): Promise<WorkerHealth[]>;
  listModels(): Promise<ModelInfo[]>;
  /** Every worker's protocol extensions (`capabilities`; [] for the Python worker). */
  capabilities(): Promise<WorkerCapabilities[]>;
  /** A job's journalled record, including jobs of an earlier run of the daemon. */
  job(jobId: string): BackendJobRecord | undefined;
  /** Resolves once jobs an earlier run left in flight were looked up on their workers. */
  readonly recovered: Promise<unknown>;
  close(): Promise<void>;
}

/**
 * The process's WorkerPool with its JobStore journalled under state_dir, counting its jobs
 * in the service's `pendingJobs` (a CLI command's own pool: its own count). Loaded on first use, so `serve` answers tools/list without
 * zeromq in memory (cold start).
 */
export async function openWorkerPool(
  config: Config,
  logger: Logger,
  pendingJobs?: PendingJobs,
): Promise<GenerationBackend> {
  const [{ WorkerPool }, { JobStore }] = await Promise.all([
    import('../worker-client/worker-pool.js'),
    import('../worker-client/job-store.js'),
  ]);
  return WorkerPool.fromConfig(config, {
    logger,
    store: JobStore.open(config.state_dir, { logger }),
    ...(pendingJobs === undefined ? {} : { pendingJobs }),
  });
}

/** Worker status younger than this is reused by get_status (the health monitor polls anyway). */
const STATUS_MAX_AGE_MS = 500;

/** One worker's health as get_status reports it (snake_case). */
export type WorkerStatusView = {
  name: string;
  req: string;
  pub: string;
  reachable: boolean;
  version: string | null;
  queue_size: number | null;
  active_jobs: number | null;
  uptime_s: number | null;
  in_flight: number;
  error: string | null;
  checked_ms_ago: number;
};

/** get_status's worker list: calls within STATUS_MAX_AGE_MS share one status round trip per worker. */
export function coalescedStatus(
  backend: () => Promise<GenerationBackend>,
): () => Promise<WorkerStatusView[]> {
  let last: { at: number; workers: Promise<WorkerHealth[]> } | undefined;
  return async () => {
    const now = Date.now();
    if (last === undefined || now - last.at > STATUS_MAX_AGE_MS) {
      const entry = { at: now, workers: backend().then((b) => b.status()) };
      last = entry;
      entry.workers.catch(() => {
        if (last === entry) last = undefined;
      });
    }
    const at = last.at;
    return (await last.workers).map((h) => ({
      name: h.name,
      req: h.req,
      pub: h.pub,
      reachable: h.reachable,
      version: h.version ?? null,
      queue_size: h.queueSize ?? null,
      active_jobs: h.activeJobs ?? null,
      uptime_s: h.uptimeS ?? null,
      in_flight: h.inFlight,
      error: h.error ?? null,
      checked_ms_ago: Date.now() - at,
    }));
  };
}

/** A failed outcome's code and text, for a job view (never parsed back from the text). */
export type FailedOutcome = Extract<JobOutcome, { status: 'failed' }>;
