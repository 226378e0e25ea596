import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { PoolWorker } from './pool-types.js';

/**
 * Periodic `status` of every pool worker. A worker that answers is marked
 * reachable (a dead one that comes back is used again). One that restarted
 * (uptime went down) lost its queue: its jobs end 'lost', and the pool re-sends
 * those it had not started. One that misses two checks in a row is
 * unreachable: jobs it had not started are re-sent elsewhere (when another
 * worker is reachable); after four, its remaining jobs fail (they can no longer
 * report; a lone worker's queued jobs land here too).
 */
export class WorkerHealthMonitor {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly workers: PoolWorker[],
    intervalMs: number,
    private readonly logger: Logger,
    /** One status round trip, ms; generous so a loaded machine is not declared dead. */
    private readonly timeoutMs: number,
  ) {
    if (intervalMs > 0) {
      this.timer = setInterval(() => void this.checkAll(), intervalMs);
      this.timer.unref();
    }
  }

  /** Check every worker now, in parallel (joins a check already under way). */
  checkAll(): Promise<void> {
    this.running ??= Promise.all(this.workers.map((w) => this.check(w))).then(() => {
      this.running = undefined;
    });
    return this.running;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async check(w: PoolWorker): Promise<void> {
    const { client } = w;
    if (client.isClosed) return;
    const previousUptimeS = client.lastStatus?.uptime_s;
    try {
      const status = await client.status(this.timeoutMs, 0);
      if (w.reachable === false)
        this.logger.info({ worker: client.name }, 'worker is reachable again');
      w.reachable = true;
      w.failures = 0;
      w.error = undefined;
      if (previousUptimeS !== undefined && status.uptime_s < previousUptimeS) {
        const lost = client.failJobs(
          () => true,
          `worker ${client.name} restarted and lost the job; submit it again`,
          'lost',
        );
        this.logger.warn({ worker: client.name, lost: lost.length }, 'worker restarted');
      }
    } catch (err) {
      w.failures++;
      w.reachable = false;
      w.error = errorMessage(err);
      this.logger.warn(
        { worker: client.name, failures: w.failures, err: w.error },
        'worker health check failed',
      );
      // re-send not-started jobs only when another worker can take them; a lone worker gets more time
      const alternative = this.workers.some(
        (o) => o !== w && o.reachable === true && !o.client.isClosed,
      );
      if (w.failures >= 2 && alternative) {
        client.failJobs(
          (t) => !t.executing,
          `worker ${client.name} stopped answering (${w.error})`,
          'unreachable',
        );
      }
      if (w.failures >= 4) {
        client.failJobs(
          () => true,
          `worker ${client.name} stopped answering (${w.error}); the job did not finish, submit it again`,
          'unreachable',
        );
      }
    }
  }
}
