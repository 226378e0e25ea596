import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
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
