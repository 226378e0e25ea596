import type { WorkerUpdate } from '../protocol/messages.js';
import type { JobEvent, JobProgress, WorkerJobResult } from './types.js';

/**
 * The client-side view of one job on one worker. It absorbs the Python
 * worker's quirks (PROTOCOL.md "Observed behaviour"):
 *  - updates that arrive before the `job_accepted` reply are buffered and
 *    replayed after it (1);
 *  - `job_started` comes twice: the first is reported, the second only marks
 *    the job as executing (1);
 *  - progress is clamped to 0..100 / 0..totalSteps and never goes back (7);
 *  - `job_finished` is not the end: the result is `job_complete` or
 *    `job_error`, whichever follows (1, 3);
 *  - once ended (e.g. cancelled locally), every later message is ignored, so
 *    a cancelled job that still completes stays cancelled (4, 5, 12).
 * Iterate it for events (one consumer: events are handed out once; the pool
 * is that consumer, so pool callers use `onProgress`); `result` resolves once
 * with the outcome, never rejects.
 */
export class JobTracker implements AsyncIterable<JobEvent> {
  readonly result: Promise<WorkerJobResult>;
  /** Set once the worker answered job_accepted. */
  accepted = false;
  estimatedTimeS = 0;
  /** True once the worker is known to run it (second job_started, progress or job_state running). */
  executing = false;
  /** job_finished.success, if seen. */
  finishedSuccess: boolean | undefined;
  /** ms since epoch of the last message about this job (reply or update). */
  lastActivityAt = Date.now();
  readonly startedAt = Date.now();
  private outcome: WorkerJobResult | undefined;
  private resolveResult!: (r: WorkerJobResult) => void;
  private readonly early: WorkerUpdate[] = [];
  private startedCount = 0;
  private progress: JobProgress;
  private readonly queue: JobEvent[] = [];
  private wake: (() => void) | undefined;

  constructor(
    readonly jobId: string,
    totalSteps: number,
  ) {
    this.result = new Promise((resolve) => {
      this.resolveResult = resolve;
    });
    this.progress = {
      jobId,
      state: 'queued',
      stage: 'queued',
      percent: 0,
      step: 0,
      totalSteps,
      etaS: 0,
    };
  }

  /** The job has ended (result decided). */
  get done(): boolean {
    return this.outcome !== undefined;
  }

  /** Latest clamped progress. */
  get lastProgress(): JobProgress {
    return this.progress;
  }

  /** The worker replied job_accepted: emit it and replay any buffered updates. */
  markAccepted(estimatedTimeS: number): void {
    if (this.accepted || this.done) return;
    this.accepted = true;
    this.estimatedTimeS = estimatedTimeS;
    this.touch();
    this.emit({ kind: 'accepted', estimatedTimeS });
    for (const u of this.early.splice(0)) this.apply(u);
  }

  /** Mark as executing (job_state running) without a message on PUB. */
  markExecuting(): void {
    this.touch();
    this.setRunning();
  }

  /** Feed one PUB update for this job. */
  handleUpdate(update: WorkerUpdate): void {
    if (this.done) return;
    this.touch();
    if (!this.accepted) {
      this.early.push(update);
      return;
    }
    this.apply(update);
  }

  /** End the job with `result` unless it already ended. Returns whether this call ended it. */
  end(result: WorkerJobResult): boolean {
    if (this.done) return false;
    this.outcome = result;
    this.early.length = 0;
    if (result.status === 'completed' && this.progress.percent < 100) {
      this.progress = {
        ...this.progress,
        state: 'running',
        percent: 100,
        step: this.progress.totalSteps,
        etaS: 0,
      };
      this.emit({ kind: 'progress', progress: this.progress });
    }
    this.emit({ kind: 'result', result });
    this.resolveResult(result);
    return true;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<JobEvent> {
    for (;;) {
      const next = this.queue.shift();
      if (next !== undefined) {
        yield next;
        if (next.kind === 'result') return;
        continue;
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  private apply(u: WorkerUpdate): void {
    switch (u.type) {
      case 'job_started':
        this.startedCount++;
        if (this.startedCount === 1) this.emit({ kind: 'started' });
        // the first job_started is published at accept time, the second when execution begins
        else this.setRunning();
        return;
      case 'progress': {
        this.setRunning();
        const p = this.progress;
        const total = Math.max(1, u.total_steps > 0 ? u.total_steps : p.totalSteps);
        this.progress = {
          jobId: this.jobId,
          state: 'running',
          stage: u.stage,
          percent: Math.max(p.percent, clamp(u.percent, 0, 100)),
          step: Math.max(p.step, clamp(u.step, 0, total)),
          totalSteps: total,
          etaS: Math.max(0, Number.isFinite(u.eta_s) ? u.eta_s : 0),
        };
        this.emit({ kind: 'progress', progress: this.progress });
        return;
      }
      case 'preview':
        return;
      case 'job_finished':
        this.finishedSuccess = u.success;
        this.emit({ kind: 'finished', success: u.success, durationS: u.duration_s });
        return;
      case 'job_complete': {
        const result: WorkerJobResult = {
          status: 'completed',
          imagePath: u.image_path,
          durationS: u.duration_s,
        };
        if (u.image !== undefined) result.image = u.image;
        this.end(result);
        return;
      }
      case 'job_error':
        this.end({ status: 'failed', error: u.error, code: 'job_error' });
        return;
    }
  }

  private setRunning(): void {
    if (this.executing || this.done) return;
    this.executing = true;
    this.progress = {
      ...this.progress,
      state: 'running',
      stage: this.progress.stage === 'queued' ? 'initializing' : this.progress.stage,
    };
    this.emit({ kind: 'running' });
  }

  private touch(): void {
    this.lastActivityAt = Date.now();
  }

  private emit(event: JobEvent): void {
    this.queue.push(event);
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

function clamp(value: number, min: number, max: number): number {
  if (!Number.isFinite(value)) return min;
  return Math.min(max, Math.max(min, value));
}
