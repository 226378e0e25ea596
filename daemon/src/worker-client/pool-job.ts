import { connectionFailedText, errorMessage, isDaemonError } from '../errors.js';
import type { PendingJob, PoolJobHost, PoolWorker, SubmitOptions } from './pool-types.js';
import {
  type JobFailureCode,
  type JobOutcome,
  outcomeCode,
  requiredExtensions,
  type WorkerJobParams,
} from './types.js';

/**
 * Run one pool job to its outcome: pick the least-loaded worker, send it,
 * follow its events (store state + progress callback), fetch the image bytes.
 * A job that did not start (worker unreachable, no reply, lost from the queue
 * of a dead or restarted worker) is re-sent to another worker, up to
 * `pool.attemptsPerJob` workers. Never throws for job-level failures.
 */
export async function runPoolJob(
  pool: PoolJobHost,
  jobId: string,
  params: WorkerJobParams,
  options: SubmitOptions,
  entry: PendingJob,
): Promise<JobOutcome> {
  let cancelled = false;
  // the worker's answer to our cancel, so pool.cancel (and a daemon shutting down) can wait for it
  let cancelling: Promise<unknown> | undefined;
  let current: PoolWorker | undefined;
  entry.cancel = () => {
    if (!cancelled) {
      cancelled = true;
      if (current !== undefined)
        cancelling = pool.noteCancel(current.client.cancel(jobId).catch(() => undefined));
    }
    return cancelling ?? Promise.resolve();
  };
  // cancel() never rejects (the worker's answer is caught above); nothing to await here
  if (options.signal?.aborted) void entry.cancel();
  options.signal?.addEventListener('abort', () => void entry.cancel(), { once: true });

  const shutdown = (): JobOutcome => ({
    status: 'failed',
    error: `job ${jobId} did not finish: the daemon is shutting down`,
    code: 'NOT_READY',
  });
  const tried = new Set<PoolWorker>();
  /** Why each tried worker did not run the job: its text and the outcome code it stands for. */
  const failures: { text: string; code: JobFailureCode; worded: boolean }[] = [];

  /** One attempt on one worker; undefined means "did not start there, try another". */
  async function runOn(worker: PoolWorker): Promise<JobOutcome | undefined> {
    pool.store.assign(jobId, worker.client.name);
    let tracker: Awaited<ReturnType<typeof worker.client.generate>>;
    try {
      tracker = await worker.client.generate(params, { jobId });
    } catch (err) {
      const why = errorMessage(err);
      // a WORKER_UNREACHABLE error already reads "Backend connection failed: …" (connectionFailed)
      failures.push({
        text: why,
        code: 'WORKER_UNREACHABLE',
        worded: isDaemonError(err, 'WORKER_UNREACHABLE'),
      });
      // a refused request is about the job, not the worker: do not try elsewhere; except a full
      // queue (BUSY: worker.max_queue, e.g. filled by another daemon): another may have room
      if (isDaemonError(err, 'WORKER_ERROR'))
        return { status: 'failed', error: why, code: 'JOB_FAILED' };
      if (isDaemonError(err, 'BUSY')) {
        pool.log.warn(
          { jobId, worker: worker.client.name },
          'worker queue full; trying another worker',
        );
        return undefined;
      }
      worker.reachable = false;
      worker.error = why;
      pool.log.warn(
        { jobId, worker: worker.client.name, err: why },
        'could not send job; trying another worker',
      );
      return undefined;
    }
    current = worker;
    if (cancelled) cancelling = pool.noteCancel(worker.client.cancel(jobId).catch(() => undefined));
    for await (const event of tracker) {
      if (event.kind === 'running' && pool.store.get(jobId)?.status === 'queued') {
        pool.store.transition(jobId, 'running');
      }
      if (event.kind === 'progress') {
        pool.store.setProgress(jobId, event.progress);
        try {
          options.onProgress?.(event.progress);
        } catch (err) {
          pool.log.warn({ jobId, err: errorMessage(err) }, 'onProgress callback threw');
        }
      }
    }
    const result = await tracker.result;
    current = undefined;
    if (result.status === 'cancelled') return { status: 'cancelled' };
    if (result.status === 'failed') {
      if (pool.isClosed) return shutdown();
      const retryable =
        ['lost', 'unreachable', 'not_started'].includes(result.code) && !tracker.executing;
      if (retryable && !cancelled) {
        // lost from a reachable worker's queue is JOB_FAILED; not sent or no answer is unreachable
        failures.push({ text: result.error, code: outcomeCode(result.code), worded: false });
        pool.log.warn(
          { jobId, worker: worker.client.name, err: result.error },
          'job lost before it started; re-sending',
        );
        return undefined;
      }
      const code = outcomeCode(result.code);
      const error =
        code === 'WORKER_UNREACHABLE' ? connectionFailedText(result.error) : result.error;
      return { status: 'failed', error, code };
    }
    try {
      const { bytes } = await pool.fetchImage(worker.client, result);
      const imagePath = await pool.saveImage(jobId, bytes);
      return {
        status: 'completed',
        image: bytes,
        imagePath,
        durationS: result.durationS,
        workerName: worker.client.name,
      };
    } catch (err) {
      return { status: 'failed', error: errorMessage(err), code: 'IMAGE_UNAVAILABLE' };
    }
  }

  const needed = requiredExtensions(params);
  if (needed.length > 0) {
    // only workers that list every extension the params use may get them: the Python worker
    // would drop the fields silently and draw something else
    const caps = await pool.capabilities();
    const lacking = caps.filter((c) => needed.some((e) => !c.extensions?.includes(e)));
    for (const w of pool.workers) if (lacking.some((c) => c.name === w.client.name)) tried.add(w);
    if (lacking.length === caps.length) {
      return { status: 'failed', code: 'JOB_FAILED', error: missingExtension(needed, lacking) };
    }
  }
  for (let attempt = 1; attempt <= pool.attemptsPerJob && !cancelled; attempt++) {
    const worker = pool.pickWorker(tried);
    if (worker === undefined) break;
    tried.add(worker);
    worker.assigned++;
    try {
      const outcome = await runOn(worker);
      if (outcome !== undefined) return outcome;
    } finally {
      worker.assigned--;
    }
  }
  if (cancelled) return { status: 'cancelled' };
  if (pool.isClosed) return shutdown();
  const only = failures.length === 1 ? failures[0] : undefined;
  if (only !== undefined) {
    const error =
      only.code === 'WORKER_UNREACHABLE' && !only.worded
        ? connectionFailedText(only.text)
        : only.text;
    return { status: 'failed', code: only.code, error };
  }
  const why = failures.map((f) => f.text).join('; ') || 'no worker available';
  return {
    status: 'failed',
    code: 'WORKER_UNREACHABLE',
    error: connectionFailedText(`no DGX worker could run job ${jobId}: ${why}`),
  };
}

/** What each extension is for, in the error of a job no worker can run. */
const EXTENSION_USE: Record<string, string> = {
  pose: "a character's facings",
  init_image: 'an init image (img2img, edit)',
  mask: 'an inpainting mask',
  reference_images: 'reference images',
};

/**
 * The error of a job no worker can run: the extensions it needs, each worker and what it
 * lacks (a Python worker lists none: it answers `capabilities` with "Unknown request
 * type"), and the fix.
 */
export function missingExtension(
  extensions: string | readonly string[],
  lacking: readonly {
    name: string;
    req?: string | undefined;
    extensions: string[] | undefined;
    error?: string | undefined;
  }[],
): string {
  const needed = typeof extensions === 'string' ? [extensions] : [...extensions];
  const quoted = needed.map((e) => `"${e}"`);
  const what =
    quoted.length === 1
      ? `the ${quoted[0]} extension`
      : `the ${quoted.slice(0, -1).join(', ')} and ${quoted.at(-1)} extensions`;
  const uses = needed.map((e) => EXTENSION_USE[e] ?? e).join(', ');
  const why = lacking
    .map((c) => {
      const who = c.req === undefined || c.req === c.name ? c.name : `${c.name} (${c.req})`;
      if (c.extensions === undefined)
        return `${who} did not answer capabilities (${c.error ?? 'no reply'})`;
      if (c.extensions.length === 0)
        return `${who} lists no extensions (a Python DGX worker answers capabilities with "Unknown request type")`;
      const missing = needed.filter((e) => !c.extensions?.includes(e));
      return `${who} lists ${c.extensions.join(', ')} but not ${missing.join(', ')}`;
    })
    .join('; ');
  return (
    `no DGX worker advertises ${what} this request needs (${uses}): ${why}. ` +
    'Run an embedded worker (dgx-pixels worker; its procedural engine has every one) and add it to backend.workers, ' +
    `or leave out ${needed.join(', ')}`
  );
}
