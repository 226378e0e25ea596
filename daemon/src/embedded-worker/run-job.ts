import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import type { WorkerUpdate } from '../protocol/messages.js';
import type { Engine } from './engine.js';
import type { JobQueue, JobRecord } from './job-queue.js';

export interface RunJobDeps {
  engine: Engine;
  queue: JobQueue;
  outputDir: string;
  /** Queue one PUB message; resolves when it has been handed to ZeroMQ (order is kept). */
  publish(update: WorkerUpdate): Promise<void>;
  logger: Logger;
}

const unixS = (): number => Math.floor(Date.now() / 1000);

/**
 * Run one job and publish its story on PUB, in the Python worker's order
 * (PROTOCOL.md "Updates"): job_started → progress… → job_finished →
 * job_complete, or job_finished{success: false, duration_s: 0} → job_error.
 * A cancelled or shut-down job ends the failure way with a text saying so.
 * Never rejects.
 */
export async function runJob(record: JobRecord, deps: RunJobDeps): Promise<void> {
  const { job } = record;
  const signal = record.controller.signal;
  const startedMs = Date.now();
  const fail = async (error: string, state: 'failed' | 'cancelled'): Promise<void> => {
    deps.queue.finish(record, state, { error });
    await deps.publish({ type: 'job_finished', job_id: job.jobId, success: false, duration_s: 0 });
    await deps.publish({ type: 'job_error', job_id: job.jobId, error });
  };
  try {
    await deps.publish({ type: 'job_started', job_id: job.jobId, timestamp: unixS() });
    let lastPercent = 0;
    const result = await deps.engine.generate(job, {
      signal,
      progress: async (p) => {
        if (signal.aborted) return;
        lastPercent = Math.max(lastPercent, Math.min(100, p.percent)); // monotonic, clamped
        await deps.publish({
          type: 'progress',
          job_id: job.jobId,
          stage: p.stage,
          step: p.step,
          total_steps: p.totalSteps,
          percent: lastPercent,
          eta_s: Math.max(0, p.etaS),
        });
      },
    });
    if (signal.aborted) throw signal.reason;
    await mkdir(deps.outputDir, { recursive: true });
    const imagePath = join(deps.outputDir, `${job.jobId}_${unixS()}.png`);
    await writeFile(imagePath, result.png);
    for (const side of result.sidecars ?? []) {
      await writeFile(imagePath.replace(/\.png$/, side.suffix), side.data);
    }
    if (signal.aborted) throw signal.reason;
    deps.queue.finish(record, 'completed', { imagePath });
    await deps.publish({
      type: 'job_finished',
      job_id: job.jobId,
      success: true,
      duration_s: result.durationS,
    });
    await deps.publish({
      type: 'job_complete',
      job_id: job.jobId,
      image_path: imagePath,
      duration_s: (Date.now() - startedMs) / 1000,
      ...(record.returnImage ? { image: new Uint8Array(result.png) } : {}),
    });
    deps.logger.info({ jobId: job.jobId, imagePath, durationS: result.durationS }, 'job complete');
  } catch (err) {
    if (signal.aborted) {
      const reason = signal.reason instanceof Error ? signal.reason.message : String(signal.reason);
      deps.logger.info({ jobId: job.jobId, reason }, 'job stopped');
      await fail(reason, record.state === 'cancelled' ? 'cancelled' : 'failed').catch(() => {});
      return;
    }
    const message = err instanceof Error ? err.message : String(err);
    deps.logger.warn({ jobId: job.jobId, err: message }, 'job failed');
    // same prefix as the Python executor, so clients that match on it keep working
    await fail(`Execution failed: ${message}`, 'failed').catch(() => {});
  }
}
