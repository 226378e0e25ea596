import type { JobState } from '../protocol/messages.js';
import type { EngineJob } from './engine.js';

/** One accepted job and what became of it. */
export interface JobRecord {
  job: EngineJob;
  returnImage: boolean;
  state: JobState;
  acceptedAtMs: number;
  imagePath?: string;
  error?: string;
  /** Aborted on cancel or shutdown; its reason (an Error) carries the job_error text. */
  controller: AbortController;
}

export interface JobQueueOptions {
  /** Jobs run at once (one per GPU). */
  slots: number;
  /** Most jobs waiting (not running) before `add` refuses. */
  maxQueue: number;
  /** Runs one job to its end; never rejects (failures are the runner's to publish). */
  run: (record: JobRecord) => Promise<void>;
  /** Finished jobs remembered for job_status (oldest forgotten first). Default 1000. */
  keepFinished?: number;
}

export type CancelOutcome = 'queued' | 'running' | 'not_found';

/**
 * FIFO queue with N parallel slots. Cancel removes a queued job, or aborts a
 * running one (its runner sees the signal and ends it). State changes are
 * synchronous so `status` right after `cancel` no longer counts the job
 * (PROTOCOL.md "Observed behaviour" 4, 13).
 */
export class JobQueue {
  private readonly waiting: JobRecord[] = [];
  private readonly running = new Set<JobRecord>();
  private readonly byId = new Map<string, JobRecord>();
  private readonly finished: string[] = [];
  private readonly settled = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly options: JobQueueOptions) {}

  get queuedCount(): number {
    return this.waiting.length;
  }

  /** Jobs executing and not cancelled (what `status.active_jobs` reports). */
  get activeCount(): number {
    let n = 0;
    for (const r of this.running) if (r.state === 'running') n++;
    return n;
  }

  /** Jobs whose runner has not returned yet (including cancelled ones still stopping). */
  get unfinished(): JobRecord[] {
    return [...this.running];
  }

  /** Queue a job; false when the queue is full or shutting down. Starting happens on a later tick. */
  add(job: EngineJob, returnImage: boolean): JobRecord | undefined {
    if (this.closed || this.waiting.length >= this.options.maxQueue) return undefined;
    const record: JobRecord = {
      job,
      returnImage,
      state: 'queued',
      acceptedAtMs: Date.now(),
      controller: new AbortController(),
    };
    this.waiting.push(record);
    this.byId.set(job.jobId, record); // a duplicate id replaces the older record (it still runs)
    setImmediate(() => this.pump());
    return record;
  }

  /** The latest job with this id, if remembered. */
  get(jobId: string): JobRecord | undefined {
    return this.byId.get(jobId);
  }

  /** Cancel the latest queued or running job with this id; `reason` becomes the job_error text. */
  cancel(jobId: string, reason: string): { outcome: CancelOutcome; record?: JobRecord } {
    const record = this.byId.get(jobId);
    if (record === undefined || (record.state !== 'queued' && record.state !== 'running')) {
      return { outcome: 'not_found' };
    }
    const outcome = record.state;
    record.state = 'cancelled';
    record.error = reason;
    const i = this.waiting.indexOf(record);
    if (i >= 0) this.waiting.splice(i, 1);
    record.controller.abort(new Error(reason));
    if (outcome === 'queued') this.remember(record);
    return { outcome, record };
  }

  /** Record a terminal state for a job that ran. */
  finish(
    record: JobRecord,
    state: 'completed' | 'failed' | 'cancelled',
    detail: { imagePath?: string; error?: string },
  ): void {
    if (record.state !== 'cancelled') record.state = state;
    if (detail.imagePath !== undefined) record.imagePath = detail.imagePath;
    if (detail.error !== undefined && record.error === undefined) record.error = detail.error;
    this.remember(record);
  }

  /**
   * Stop taking jobs; every queued job is returned (the caller ends them on the
   * wire) and every running job is aborted with `reason`; `stopped` resolves
   * when all runners have returned.
   */
  shutdown(reason: string): { dropped: JobRecord[]; stopped: Promise<void> } {
    this.closed = true;
    const dropped = this.waiting.splice(0);
    for (const r of dropped) {
      r.state = 'failed';
      r.error = reason;
    }
    for (const r of this.running)
      if (!r.controller.signal.aborted) r.controller.abort(new Error(reason));
    const stopped = Promise.allSettled([...this.settled]).then(() => undefined);
    return { dropped, stopped };
  }

  private pump(): void {
    while (!this.closed && this.running.size < this.options.slots && this.waiting.length > 0) {
      const record = this.waiting.shift() as JobRecord;
      record.state = 'running';
      this.running.add(record);
      const done = this.options.run(record).finally(() => {
        this.running.delete(record);
        this.settled.delete(done);
        this.pump();
      });
      this.settled.add(done);
    }
  }

  private remember(record: JobRecord): void {
    this.finished.push(record.job.jobId);
    const keep = this.options.keepFinished ?? 1000;
    while (this.finished.length > keep) {
      const old = this.finished.shift() as string;
      const r = this.byId.get(old);
      if (r && r.state !== 'queued' && r.state !== 'running') this.byId.delete(old);
    }
  }
}
