/**
 * The backend's public surface: what the MCP service and CLI commands import.
 * Typical use:
 *   const store = JobStore.open(config.state_dir);
 *   const pool = WorkerPool.fromConfig(config, { logger, store });
 *   const { jobId, done } = pool.submit(params, { signal, onProgress });
 *   const outcome = await done; // completed (PNG bytes) | failed | cancelled, never rejects
 */

export type { FetchImageOptions, ImageRoute } from './image-fetch.js';
export { fetchResultImage, findResultFile, isPng, mapWorkerPath } from './image-fetch.js';
export type { JobRecord, JobStatus, JobStoreOptions } from './job-store.js';
export { isTerminal, JobStore } from './job-store.js';
export { JobTracker } from './job-tracker.js';
export { missingExtension } from './pool-job.js';
export type {
  JobEvent,
  JobHandle,
  JobOutcome,
  JobProgress,
  WorkerCapabilities,
  WorkerHealth,
  WorkerJobParams,
  WorkerJobResult,
} from './types.js';
export { requiredExtensions, toWireRequest } from './types.js';
export type { JobStateReply, StatusInfo, WorkerClientOptions } from './worker-client.js';
export { clientOptionsFromConfig, WorkerClient } from './worker-client.js';
export type { SubmitOptions, WorkerPoolOptions } from './worker-pool.js';
export { WorkerPool } from './worker-pool.js';
