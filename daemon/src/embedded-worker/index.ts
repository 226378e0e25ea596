/**
 * The embedded DGX worker (PROTOCOL.md v1.0.0 plus extensions): `startWorker`
 * for programs and tests, `dgx-pixels worker` for people.
 */

export { isLoopbackHost, pubEndpointFor } from './endpoints.js';
export type { Engine, EngineContext, EngineJob, EngineProgress, EngineResult } from './engine.js';
export type { EngineName } from './engines/create.js';
export { CANCELLED_TEXT, estimateTimeS } from './handle-request.js';
export { type RunningWorker, startWorker, type WorkerOptions } from './server.js';
