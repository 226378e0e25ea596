import { extensionsUsed } from '../protocol/conditioning.js';
import { PROTOCOL_VERSION, type WorkerReply, type WorkerUpdate } from '../protocol/messages.js';
import type { Engine } from './engine.js';
import type { JobQueue } from './job-queue.js';
import { parseRequest, RequestError } from './parse-request.js';

export interface HandlerContext {
  queue: JobQueue;
  engine: Engine;
  publish(update: WorkerUpdate): Promise<void>;
  startedMs: number;
  maxQueue: number;
}

/** The Python worker's estimate (PROTOCOL.md 9): steps × 0.1, × batch_size, × animation_frames, raw float maths. */
export function estimateTimeS(steps: number, batchSize?: number, animationFrames?: number): number {
  let t = steps * 0.1;
  if (batchSize !== undefined && batchSize > 1) t *= batchSize;
  if (animationFrames !== undefined && animationFrames > 1) t *= animationFrames;
  return t;
}

/** Extensions every embedded worker honours, whatever its engine (shared/PROTOCOL.md "Extensions"). */
export const WORKER_EXTENSIONS = [
  'capabilities',
  'return_image',
  'job_status',
  'seed',
  'negative_prompt',
  'style',
] as const;

export const CANCELLED_TEXT = 'Job cancelled: a cancel request stopped it before it finished';
const NOT_FOUND = 'Job not found or already completed';

/**
 * Answer one REP frame. Replies keep the Python worker's key order (its
 * `to_dict`); anything unparseable is `{type: "error", message}`. Never throws.
 */
export async function handleFrame(frame: Uint8Array, ctx: HandlerContext): Promise<WorkerReply> {
  let request: ReturnType<typeof parseRequest>;
  try {
    request = parseRequest(frame);
  } catch (err) {
    if (err instanceof RequestError) return { type: 'error', message: err.message };
    throw err;
  }
  switch (request.type) {
    case 'generate': {
      const { job, returnImage } = request.value;
      const missing = extensionsUsed(job).filter((e) => !ctx.engine.extensions?.includes(e));
      if (missing.length > 0) {
        const names = missing.map((e) => `"${e}"`).join(', ');
        const reasons = missing.flatMap((e) => {
          const why = ctx.engine.unsupported?.[e];
          return why === undefined ? [] : [` (${e}: ${why})`];
        });
        return {
          type: 'job_error',
          job_id: job.jobId,
          error: `generate rejected: ${missing.join(', ')} need${missing.length > 1 ? '' : 's'} the ${names} extension${missing.length > 1 ? 's' : ''}, which the ${ctx.engine.name} engine does not have${reasons.join('')} (capabilities lists what it has); leave ${missing.join(', ')} out or use --engine procedural. The job was not queued.`,
        };
      }
      const record = ctx.queue.add(job, returnImage);
      if (record === undefined) {
        return {
          type: 'job_error',
          job_id: job.jobId,
          reason: 'busy',
          error:
            `Worker busy: ${ctx.queue.queuedCount} jobs are already queued (worker.max_queue = ${ctx.maxQueue}) ` +
            'or the worker is shutting down; the job was not queued. Retry later, use another worker, or raise worker.max_queue.',
        };
      }
      // Published before the reply, like Python: a client may see it before job_accepted.
      await ctx.publish({
        type: 'job_started',
        job_id: job.jobId,
        timestamp: Math.floor(Date.now() / 1000),
      });
      return {
        type: 'job_accepted',
        job_id: job.jobId,
        estimated_time_s: estimateTimeS(job.steps, job.batchSize, job.animationFrames),
      };
    }
    case 'generate_rejected':
      return { type: 'job_error', job_id: request.jobId, error: request.error };
    case 'cancel': {
      const { outcome } = ctx.queue.cancel(request.jobId, CANCELLED_TEXT);
      if (outcome === 'not_found')
        return { type: 'job_error', job_id: request.jobId, error: NOT_FOUND };
      if (outcome === 'queued') {
        // never ran, so no runner will end it on the wire: do it here
        await ctx.publish({
          type: 'job_finished',
          job_id: request.jobId,
          success: false,
          duration_s: 0,
        });
        await ctx.publish({ type: 'job_error', job_id: request.jobId, error: CANCELLED_TEXT });
      }
      return { type: 'job_cancelled', job_id: request.jobId };
    }
    case 'job_status': {
      const record = ctx.queue.get(request.jobId);
      if (record === undefined) {
        return {
          type: 'job_error',
          job_id: request.jobId,
          error: `Job not found: this worker has no job ${request.jobId} (it keeps the last 1000 finished jobs and forgets all on restart)`,
        };
      }
      return {
        type: 'job_state',
        job_id: request.jobId,
        state: record.state,
        ...(record.imagePath === undefined ? {} : { image_path: record.imagePath }),
        ...(record.error === undefined ? {} : { error: record.error }),
      };
    }
    case 'list_models':
      try {
        return { type: 'model_list', models: await ctx.engine.listModels() };
      } catch (err) {
        return {
          type: 'error',
          message: `list_models failed: ${err instanceof Error ? err.message : String(err)}`,
        };
      }
    case 'status':
      return {
        type: 'status_info',
        version: PROTOCOL_VERSION,
        queue_size: ctx.queue.queuedCount,
        active_jobs: ctx.queue.activeCount,
        uptime_s: Math.floor((Date.now() - ctx.startedMs) / 1000),
      };
    case 'ping':
      return { type: 'pong' };
    case 'capabilities':
      return {
        type: 'capabilities_info',
        version: PROTOCOL_VERSION,
        extensions: [...WORKER_EXTENSIONS, ...(ctx.engine.extensions ?? [])],
      };
  }
}
