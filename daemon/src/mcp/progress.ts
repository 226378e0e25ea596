import type { Logger } from '../log.js';
import type { JobView, SpriteService } from '../service/index.js';
import type { Extra } from './tool-registry.js';

/**
 * MCP progress for a tool call whose request carried `_meta.progressToken`:
 * `notifications/progress {progressToken, progress, total: 100, message}`.
 * The spec requires progress to increase with every notification, so equal or
 * lower values are dropped (the service already clamps worker progress).
 */
export interface ProgressReporter {
  report(percent: number, message: string): void;
}

/** A reporter for this call, or undefined when the client asked for no progress. */
export function progressFor(
  extra: Extra,
  options: { logProgress: boolean; logger: Logger },
): ProgressReporter | undefined {
  const token = extra._meta?.progressToken;
  if (token === undefined) return undefined;
  let last = -1;
  return {
    report(percent, message) {
      const progress = Math.min(100, Math.round(percent * 10) / 10);
      if (progress <= last || extra.signal.aborted) return;
      last = progress;
      if (options.logProgress) options.logger.debug({ progress, message }, 'progress');
      extra
        .sendNotification({
          method: 'notifications/progress',
          params: { progressToken: token, progress, total: 100, message },
        })
        .catch(() => undefined); // a closed transport only means nobody is listening any more
    },
  };
}

/**
 * Follow jobs and report their mean progress. The message names the job's
 * stage, step/total and ETA (single job) or how many are done (several).
 * Returns the unsubscribe.
 */
export function followJobs(
  service: SpriteService,
  jobIds: readonly string[],
  reporter: ProgressReporter | undefined,
): () => void {
  if (reporter === undefined || jobIds.length === 0) return () => undefined;
  const latest = new Map<string, JobView>();
  for (const id of jobIds) latest.set(id, service.currentJob(id));
  const emit = () => {
    const views = [...latest.values()];
    const mean = views.reduce((s, v) => s + v.percent, 0) / views.length;
    if (views.length === 1) {
      const v = views[0] as JobView;
      reporter.report(mean, `${v.status}: ${v.message}`);
    } else {
      const done = views.filter(
        (v) => v.status === 'completed' || v.status === 'failed' || v.status === 'cancelled',
      ).length;
      reporter.report(mean, `${done}/${views.length} jobs done`);
    }
  };
  const offs = jobIds.map((id) =>
    service.onJobProgress(id, (view) => {
      latest.set(id, view);
      emit();
    }),
  );
  emit();
  return () => {
    for (const off of offs) off();
  };
}
