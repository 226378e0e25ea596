import type { z } from 'zod';
import { isDaemonError } from '../errors.js';
import type { JobStateSchema, StatusInfoSchema } from '../protocol/messages.js';
import type { JobTracker } from './job-tracker.js';

/**
 * Watch one accepted job until it ends, covering what PUB/SUB cannot promise
 * (PROTOCOL.md "Sockets": PUB drops messages):
 *  - after `recoveryIntervalMs` without any message about the job, ask the
 *    worker: `job_status` when it has the extension (a restarted worker that
 *    forgot the job → failed 'lost'); otherwise `status`: an idle worker (no
 *    queued, no active job) or a restarted one (uptime went down) no longer
 *    has it, so look for `<job_id>_*.png` in the known output dirs and, if
 *    none appears within two checks, fail it 'lost';
 *  - past `timeoutS` (backend.timeout_s) end it failed 'timeout' and send a
 *    best-effort cancel so the worker can drop it.
 * Polling requests use one attempt each; a worker that does not answer is
 * left to the overall time-out (and to the pool's health check).
 */
type StatusInfo = z.infer<typeof StatusInfoSchema>;
type JobStateReply = z.infer<typeof JobStateSchema>;

/** What supervision needs of a worker client (WorkerClient implements it). */
export interface SupervisedClient {
  readonly name: string;
  readonly opts: { readonly recoveryIntervalMs: number; readonly requestTimeoutMs: number };
  readonly lastStatus: StatusInfo | undefined;
  cancel(jobId: string): Promise<unknown>;
  jobStatus(jobId: string, timeoutMs?: number): Promise<JobStateReply | undefined>;
  status(timeoutMs?: number, retries?: number): Promise<StatusInfo>;
  findResultFile(jobId: string): Promise<string | undefined>;
}

export function superviseJob(
  client: SupervisedClient,
  tracker: JobTracker,
  timeoutS: number,
): void {
  const intervalMs = client.opts.recoveryIntervalMs;
  const deadline = tracker.startedAt + timeoutS * 1000;
  let lastCheckAt = 0;
  let idleChecks = 0;
  let busy = false;
  let uptimeS = client.lastStatus?.uptime_s;

  const timer = setInterval(
    () => {
      if (tracker.done) {
        clearInterval(timer);
        return;
      }
      if (Date.now() >= deadline) {
        clearInterval(timer);
        const ended = tracker.end({
          status: 'failed',
          code: 'timeout',
          error:
            `job ${tracker.jobId} on worker ${client.name} produced no result within ${timeoutS} s ` +
            '(backend.timeout_s); check the worker and ComfyUI, or raise backend.timeout_s',
        });
        if (ended) void client.cancel(tracker.jobId).catch(() => undefined);
        return;
      }
      if (busy || Date.now() - Math.max(tracker.lastActivityAt, lastCheckAt) < intervalMs) return;
      busy = true;
      lastCheckAt = Date.now();
      void check().finally(() => {
        busy = false;
      });
    },
    Math.max(20, Math.min(intervalMs / 2, 500)),
  );
  timer.unref();

  const elapsedS = () => (Date.now() - tracker.startedAt) / 1000;

  async function check(): Promise<void> {
    const timeoutMs = client.opts.requestTimeoutMs;
    try {
      const state = await client.jobStatus(tracker.jobId, timeoutMs);
      if (state !== undefined) {
        if (state.state === 'queued') return;
        if (state.state === 'running') return tracker.markExecuting();
        if (state.state === 'cancelled') return void tracker.end({ status: 'cancelled' });
        if (state.state === 'failed') {
          return void tracker.end({
            status: 'failed',
            code: 'job_error',
            error: state.error ?? 'job failed (reported by job_status)',
          });
        }
        if (state.image_path !== undefined) {
          return void tracker.end({
            status: 'completed',
            imagePath: state.image_path,
            durationS: elapsedS(),
          });
        }
      }
    } catch (err) {
      if (isDaemonError(err, 'JOB_NOT_FOUND')) {
        tracker.end({
          status: 'failed',
          code: 'lost',
          error: `worker ${client.name} no longer knows job ${tracker.jobId} (restarted?); submit it again`,
        });
      }
      return; // no answer: leave it to the overall time-out
    }
    let status: StatusInfo;
    try {
      status = await client.status(timeoutMs, 0);
    } catch {
      return;
    }
    const restarted = uptimeS !== undefined && status.uptime_s < uptimeS;
    uptimeS = status.uptime_s;
    if (!restarted && (status.queue_size > 0 || status.active_jobs > 0)) {
      idleChecks = 0;
      return;
    }
    const file = await client.findResultFile(tracker.jobId);
    if (file !== undefined) {
      tracker.end({ status: 'completed', imagePath: file, durationS: elapsedS() });
      return;
    }
    idleChecks++;
    if (restarted || idleChecks >= 2) {
      tracker.end({
        status: 'failed',
        code: 'lost',
        error: restarted
          ? `worker ${client.name} restarted and lost job ${tracker.jobId}; submit it again`
          : `worker ${client.name} is idle but never reported a result for job ${tracker.jobId} ` +
            '(its PUB messages were missed); submit it again',
      });
    }
  }
}
