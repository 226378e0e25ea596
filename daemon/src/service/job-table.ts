import { DaemonError, errorMessage, isDaemonError } from '../errors.js';
import type { Logger } from '../log.js';
import type { PendingJobs } from '../worker-client/pending-jobs.js';
import type { JobProgress } from './generation-backend.js';
import {
  GENERATION_SHARE,
  type JobRecord,
  type JobStatus,
  type JobView,
  MAX_KEPT_JOBS,
  TERMINAL,
} from './job-view.js';

/**
 * The SpriteService's jobs of this run, oldest first, and the only code that
 * moves a job's status and progress: status never leaves a terminal state and
 * percent only grows. A job holds its place under max_pending_jobs (the
 * process's one PendingJobs, shared with the worker pool) from add to finish.
 */
export class JobTable {
  private readonly jobs = new Map<string, JobRecord>();

  constructor(
    private readonly logger: Logger,
    private readonly pending: PendingJobs,
  ) {}

  /** Take the job's place under max_pending_jobs and list it. Throws DaemonError('BUSY') when none is free. */
  add(record: JobRecord): void {
    this.pending.take(record.view.jobId);
    this.jobs.set(record.view.jobId, record);
  }

  get(jobId: string): JobRecord | undefined {
    return this.jobs.get(jobId);
  }

  has(jobId: string): boolean {
    return this.jobs.has(jobId);
  }

  /** The record of `jobId`. Throws DaemonError('JOB_NOT_FOUND') naming a few recent ids. */
  require(jobId: string): JobRecord {
    const record = this.jobs.get(jobId);
    if (record === undefined) {
      const known = [...this.jobs.keys()].slice(-5);
      throw new DaemonError(
        'JOB_NOT_FOUND',
        `no job with id "${jobId}"; ${known.length > 0 ? `recent ids: ${known.join(', ')}` : 'this daemon has run no jobs yet'}. Use list_jobs to see every job of this daemon.`,
      );
    }
    return record;
  }

  /** Jobs queued or running. */
  unfinished(): JobRecord[] {
    return [...this.jobs.values()].filter((r) => !TERMINAL.has(r.view.status));
  }

  /** Views of this run's jobs, newest first. */
  list(filter: { status?: JobStatus | undefined; limit: number }): JobView[] {
    return [...this.jobs.values()]
      .map((r) => r.view)
      .filter((v) => filter.status === undefined || v.status === filter.status)
      .reverse()
      .slice(0, filter.limit)
      .map((v) => ({ ...v }));
  }

  /** How many jobs are in each status. */
  counts(): Record<JobStatus, number> {
    const counts: Record<JobStatus, number> = {
      queued: 0,
      running: 0,
      completed: 0,
      failed: 0,
      cancelled: 0,
    };
    for (const r of this.jobs.values()) counts[r.view.status]++;
    return counts;
  }

  /** Resolve when the job ends, `timeoutMs` passes or `signal` aborts, whichever is first. */
  async wait(record: JobRecord, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    await new Promise<void>((resolveWait) => {
      const timer = setTimeout(end, timeoutMs);
      function end() {
        clearTimeout(timer);
        record.events.off('done', end);
        signal?.removeEventListener('abort', end);
        resolveWait();
      }
      record.events.on('done', end);
      signal?.addEventListener('abort', end, { once: true });
    });
  }

  /** A worker progress update mapped onto the generation share of the job's 0–100 scale. */
  onWorkerProgress(record: JobRecord, update: JobProgress): void {
    if (TERMINAL.has(record.view.status)) return;
    this.setStatus(record, 'running');
    const percent = Math.min(100, Math.max(0, update.percent));
    const total = update.totalSteps > 0 ? update.totalSteps : undefined;
    const step = total === undefined ? update.step : Math.min(update.step, total);
    const eta = update.etaS > 0 ? `, ETA ${Math.ceil(update.etaS)} s` : '';
    const message = `${update.stage}${total === undefined ? '' : ` step ${step}/${total}`}${eta}`;
    record.view.etaS = update.etaS > 0 ? update.etaS : undefined;
    this.progress(record, (percent * GENERATION_SHARE) / 100, update.stage, message);
  }

  /** Progress only moves forward (PROTOCOL.md "Observed behaviour" 7: worker progress is coarse). */
  progress(record: JobRecord, percent: number, stage: string, message: string): void {
    const view = record.view;
    view.stage = stage;
    view.message = message;
    if (percent > view.percent) view.percent = Math.round(percent * 10) / 10;
    record.events.emit('progress', { ...view });
  }

  setStatus(record: JobRecord, status: JobStatus): void {
    if (TERMINAL.has(record.view.status) || record.view.status === status) return;
    record.view.status = status;
    if (status === 'running' && record.view.stage === 'queued') record.view.stage = 'running';
  }

  /** End a job (once: later calls are ignored) and tell its listeners. */
  finish(record: JobRecord, status: JobStatus, err?: unknown): void {
    if (TERMINAL.has(record.view.status)) return;
    const view = record.view;
    view.status = status;
    this.pending.release(view.jobId);
    if (status === 'completed') {
      view.percent = 100;
      view.stage = 'done';
      view.message = 'done';
    } else if (status === 'cancelled') {
      view.stage = 'cancelled';
      view.message = 'cancelled';
      view.error = 'Job was cancelled';
      view.errorCode = 'JOB_CANCELLED';
    } else {
      view.stage = 'failed';
      view.error =
        err instanceof Error || typeof err === 'string' ? errorMessage(err) : 'unknown failure';
      view.errorCode = isDaemonError(err) ? err.code : 'JOB_FAILED';
      view.message = view.error;
    }
    view.etaS = undefined;
    this.logger.info({ job_id: view.jobId, status, error: view.error }, 'job finished');
    record.events.emit('progress', { ...view });
    record.events.emit('done', { ...view });
    this.trim();
  }

  /** Drop the oldest ended jobs beyond MAX_KEPT_JOBS: a daemon that runs for days stays small. */
  private trim(): void {
    if (this.jobs.size <= MAX_KEPT_JOBS) return;
    for (const [id, r] of this.jobs) {
      if (this.jobs.size <= MAX_KEPT_JOBS) break;
      if (TERMINAL.has(r.view.status)) this.jobs.delete(id);
    }
  }
}
