import { DaemonError } from '../errors.js';
import { type Logger, silentLogger } from '../log.js';
import { JobJournal } from './job-journal.js';
import type { JobProgress, WorkerJobParams } from './types.js';

export type JobStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

/** What the daemon remembers of one job (journalled, so it survives a restart). */
export interface JobRecord {
  jobId: string;
  status: JobStatus;
  params: WorkerJobParams;
  /** Worker it was last sent to. */
  workerName?: string | undefined;
  /** ISO timestamps */
  createdAt: string;
  updatedAt: string;
  /** Latest progress (kept in memory; journalled only with state changes). */
  progress?: Pick<JobProgress, 'stage' | 'percent' | 'step' | 'totalSteps' | 'etaS'> | undefined;
  /** Set when completed: the raw PNG under the state dir. */
  result?: { imagePath: string; durationS: number; workerName: string } | undefined;
  /** Set when failed. */
  error?: string | undefined;
}

const NEXT: Record<JobStatus, readonly JobStatus[]> = {
  // queued → completed/failed directly: a job can end before we saw it run (missed PUB messages)
  queued: ['running', 'completed', 'failed', 'cancelled'],
  running: ['completed', 'failed', 'cancelled'],
  completed: [],
  failed: [],
  cancelled: [],
};

export function isTerminal(status: JobStatus): boolean {
  return NEXT[status].length === 0;
}

export interface JobStoreOptions {
  /** Jobs kept (oldest ended ones dropped at compaction). Default 1000. */
  maxJobs?: number;
  /** Compact the journal when it holds this many lines. Default 5000. */
  compactAfterLines?: number;
  logger?: Logger;
}

/**
 * Jobs and their state machine: queued → running → completed | failed |
 * cancelled (illegal transitions throw). Every change is appended to
 * `<stateDir>/jobs.jsonl` so a restarted daemon still knows recent jobs and
 * their results; jobs that were queued or running when the daemon stopped come
 * back as failed ("daemon restarted"), because their worker-side handles are gone.
 */
export class JobStore {
  /** Ids of jobs that were queued or running when the previous daemon stopped (now failed, recoverable). */
  readonly interrupted = new Set<string>();
  private readonly jobs = new Map<string, JobRecord>();
  private readonly maxJobs: number;

  private constructor(
    private readonly journal: JobJournal<JobRecord> | undefined,
    options: JobStoreOptions,
  ) {
    this.maxJobs = options.maxJobs ?? 1000;
  }

  /**
   * Open the store of `stateDir` (created if missing), replaying its journal;
   * `undefined` keeps jobs in memory only (tests, one-shot CLI commands).
   */
  static open(stateDir: string | undefined, options: JobStoreOptions = {}): JobStore {
    const logger = options.logger ?? silentLogger;
    const journal =
      stateDir === undefined
        ? undefined
        : new JobJournal<JobRecord>(stateDir, options.compactAfterLines ?? 5000, logger);
    const store = new JobStore(journal, options);
    for (const record of journal?.replay() ?? []) store.jobs.set(record.jobId, record);
    const now = new Date().toISOString();
    for (const record of store.jobs.values()) {
      if (isTerminal(record.status)) continue;
      store.interrupted.add(record.jobId);
      Object.assign(record, {
        status: 'failed',
        error: 'the daemon restarted while this job was in flight; submit it again',
        updatedAt: now,
      });
      journal?.append(record);
    }
    store.trim();
    journal?.compact([...store.jobs.values()]);
    return store;
  }

  /** Record a new queued job. Throws VALIDATION when the id exists. */
  create(jobId: string, params: WorkerJobParams): JobRecord {
    if (this.jobs.has(jobId))
      throw new DaemonError('VALIDATION', `job id ${jobId} already exists; use a fresh UUID`);
    const now = new Date().toISOString();
    const record: JobRecord = { jobId, status: 'queued', params, createdAt: now, updatedAt: now };
    this.jobs.set(jobId, record);
    this.save(record);
    this.trim();
    return record;
  }

  /**
   * Move `jobId` to `status`, merging `patch`. Throws JOB_NOT_FOUND for an
   * unknown id, VALIDATION for an illegal transition (e.g. completed → running).
   */
  transition(
    jobId: string,
    status: JobStatus,
    patch: Partial<Pick<JobRecord, 'result' | 'error' | 'workerName'>> = {},
  ): JobRecord {
    const record = this.require(jobId);
    if (record.status !== status && !NEXT[record.status].includes(status)) {
      throw new DaemonError(
        'VALIDATION',
        `job ${jobId} cannot go from ${record.status} to ${status}; allowed: ${NEXT[record.status].join(', ') || 'none (it has ended)'}`,
      );
    }
    Object.assign(record, patch, { status, updatedAt: new Date().toISOString() });
    this.save(record);
    return record;
  }

  /**
   * A job in `interrupted` that its worker finished while no daemon was listening: failed →
   * completed with its recovered result. Throws VALIDATION for any other job.
   */
  recover(jobId: string, result: NonNullable<JobRecord['result']>): JobRecord {
    const record = this.require(jobId);
    if (!this.interrupted.delete(jobId) || record.status !== 'failed') {
      throw new DaemonError(
        'VALIDATION',
        `job ${jobId} was not interrupted by a daemon restart; only such jobs can be recovered`,
      );
    }
    Object.assign(record, { status: 'completed', result, updatedAt: new Date().toISOString() });
    delete record.error;
    this.save(record);
    return record;
  }

  /** Note the worker a queued job was (re)sent to. */
  assign(jobId: string, workerName: string): void {
    const record = this.require(jobId);
    record.workerName = workerName;
    this.save(record);
  }

  /** Latest progress, memory only (progress arrives ~10×/s). */
  setProgress(jobId: string, progress: JobProgress): void {
    const record = this.jobs.get(jobId);
    if (record === undefined || isTerminal(record.status)) return;
    const { stage, percent, step, totalSteps, etaS } = progress;
    record.progress = { stage, percent, step, totalSteps, etaS };
  }

  get(jobId: string): JobRecord | undefined {
    return this.jobs.get(jobId);
  }

  /** Jobs, newest first, optionally only some statuses. */
  list(filter: { status?: JobStatus[]; limit?: number } = {}): JobRecord[] {
    const all = [...this.jobs.values()].reverse();
    const picked = filter.status ? all.filter((j) => filter.status?.includes(j.status)) : all;
    return picked.slice(0, filter.limit ?? picked.length);
  }

  /** Flush and close the journal. */
  close(): void {
    this.journal?.close();
  }

  private require(jobId: string): JobRecord {
    const record = this.jobs.get(jobId);
    if (record === undefined)
      throw new DaemonError(
        'JOB_NOT_FOUND',
        `no job ${jobId} in this daemon; list_jobs shows the known ones`,
      );
    return record;
  }

  private save(record: JobRecord): void {
    if (this.journal?.append(record)) this.journal.compact([...this.jobs.values()]);
  }

  /** Drop the oldest ended jobs beyond maxJobs (Map keeps insertion order). */
  private trim(): void {
    if (this.jobs.size <= this.maxJobs) return;
    for (const [id, record] of this.jobs) {
      if (this.jobs.size <= this.maxJobs) break;
      if (isTerminal(record.status)) this.jobs.delete(id);
    }
  }
}
