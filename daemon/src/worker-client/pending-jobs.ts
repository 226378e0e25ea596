import { DaemonError } from '../errors.js';

/**
 * The daemon's one count of jobs queued or running, bounded by performance.max_pending_jobs,
 * and its one BUSY answer. One per process: the SpriteService creates it and hands it to its
 * WorkerPool. The service takes a place for each job it accepts and holds it until the job ends
 * (post-processing and cache hits included); the worker jobs of that job ride on its place (a
 * character set is one job however many facings it draws). The pool takes a place for a job
 * submitted on nobody's place (recipe rebuilds, a pool used on its own).
 */
export class PendingJobs {
  private readonly held = new Set<string>();
  /**
   * Seconds until a place is likely free, for the BUSY text; the pool sets it from its jobs'
   * durations (until then 10 s, the pool's own first guess).
   */
  retryAfterS: () => number = () => 10;

  constructor(readonly max: number) {}

  /** Jobs holding a place now. */
  get size(): number {
    return this.held.size;
  }

  holds(jobId: string): boolean {
    return this.held.has(jobId);
  }

  /**
   * Take a place for `jobId` (nothing more when it holds one already). Throws DaemonError('BUSY'),
   * naming the limit and when to retry, when all `max` places are taken.
   */
  take(jobId: string): void {
    if (this.held.has(jobId)) return;
    if (this.held.size >= this.max) {
      throw new DaemonError(
        'BUSY',
        `the daemon already has ${this.held.size} jobs queued or running (performance.max_pending_jobs = ${this.max}); ` +
          `wait for some with wait_job or list_jobs, or retry after ${this.retryAfterS()} s`,
      );
    }
    this.held.add(jobId);
  }

  /** Free `jobId`'s place (nothing when it holds none). */
  release(jobId: string): void {
    this.held.delete(jobId);
  }
}
