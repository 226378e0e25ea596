import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import type { BackendJobRecord } from './generation-backend.js';
import { type JobView, newJobView, pngSize } from './job-view.js';

/**
 * A finished job of an earlier run of the daemon, from `<state_dir>/sprites/<id>.png`
 * and its raw output; undefined when there is none (or `jobId` is not a UUID).
 */
export function recoverFinished(
  stateDir: string,
  config: Config,
  jobId: string,
): JobView | undefined {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(jobId))
    return undefined; // ids are UUIDs: no path tricks
  const outputPath = join(stateDir, 'sprites', `${jobId}.png`);
  const rawPath = join(stateDir, config.generation.output_dir, `${jobId}.raw.png`);
  if (!existsSync(outputPath)) return undefined;
  const size = pngSize(readFileSync(outputPath));
  return newJobView({
    jobId,
    status: 'completed',
    prompt: '',
    createdAt: statSync(outputPath).mtime.toISOString(),
    percent: 100,
    stage: 'done',
    message: 'recovered from an earlier run of the daemon',
    outputPath,
    rawPath: existsSync(rawPath) ? rawPath : undefined,
    width: size?.[0],
    height: size?.[1],
  });
}

/**
 * A job of an earlier run from the worker pool's journal (the daemon stopped before
 * post-processing): completed with the worker's raw output when the worker finished
 * it (then post-processing and deploy did not run), else failed with the reason.
 */
export function recoverFromJournal(record: BackendJobRecord): JobView {
  const base = {
    jobId: record.jobId,
    prompt: record.params.prompt,
    createdAt: record.createdAt,
    workerName: record.workerName ?? record.result?.workerName,
  };
  if (record.status === 'completed' && record.result !== undefined) {
    const size = existsSync(record.result.imagePath)
      ? pngSize(readFileSync(record.result.imagePath))
      : undefined;
    return newJobView({
      ...base,
      status: 'completed',
      percent: 100,
      stage: 'done',
      message:
        'recovered after a daemon restart: the worker finished this job while the daemon was down; ' +
        'output_path is the raw model output (post-processing and deploy did not run; run process or deploy_to_bevy on it)',
      outputPath: record.result.imagePath,
      rawPath: record.result.imagePath,
      width: size?.[0],
      height: size?.[1],
      generationTimeS: record.result.durationS,
    });
  }
  const ended = record.status === 'cancelled' ? 'cancelled' : 'failed';
  const error =
    record.status === 'cancelled'
      ? 'Job was cancelled'
      : (record.error ?? 'the daemon restarted while this job was in flight; submit it again');
  return newJobView({
    ...base,
    status: ended,
    percent: record.progress?.percent ?? 0,
    stage: ended,
    message: error,
    error,
    errorCode: ended === 'cancelled' ? 'JOB_CANCELLED' : 'JOB_FAILED',
  });
}
