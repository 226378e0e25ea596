import type { JobView } from '../../service/index.js';
import { followJobs, progressFor } from '../progress.js';
import type { ToolContext } from '../tool-registry.js';

/**
 * Wait for jobs at most `waitS` seconds while sending MCP progress. With
 * `cancelOnAbort`, a client's notifications/cancelled (the request's abort
 * signal) cancels the jobs themselves, worker jobs included; otherwise it only
 * ends the wait. Jobs still running at the deadline keep running.
 */
export async function awaitJobs(
  ctx: ToolContext,
  jobIds: readonly string[],
  waitS: number,
  cancelOnAbort: boolean,
): Promise<JobView[]> {
  const { service, extra, config, logger } = ctx;
  const reporter = progressFor(extra, { logProgress: config.logging.log_progress, logger });
  const stop = followJobs(service, jobIds, reporter);
  const onAbort = () => {
    for (const id of jobIds) {
      service.cancelJob(id).catch(() => undefined);
    }
  };
  if (cancelOnAbort) {
    if (extra.signal.aborted) onAbort();
    else extra.signal.addEventListener('abort', onAbort, { once: true });
  }
  try {
    return await Promise.all(jobIds.map((id) => service.waitJob(id, waitS * 1000, extra.signal)));
  } finally {
    stop();
    extra.signal.removeEventListener('abort', onAbort);
  }
}
