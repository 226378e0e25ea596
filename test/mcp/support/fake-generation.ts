import {
  encodeLikeModel,
  renderProcedural,
} from '../../../daemon/src/embedded-worker/engines/procedural/compose.js';
import { DaemonError } from '../../../daemon/src/errors.js';
import type {
  GenerationBackend,
  JobOutcome,
  JobProgress,
  WorkerJobParams,
} from '../../../daemon/src/service/generation-backend.js';

/**
 * A GenerationBackend that renders with the embedded worker's procedural engine
 * in-process, for the fast InMemoryTransport tests of the MCP layer (the real
 * WorkerPool over ZeroMQ is exercised by test/e2e). Prompts containing "fail"
 * fail; `unreachable` makes submit throw like a dead worker.
 */
export interface FakeGeneration extends GenerationBackend {
  submitted: number;
  cancelled: string[];
  unreachable: boolean;
  stepMs: number;
  /** What `capabilities` answers (default none, like the Python worker). */
  extensions: string[];
  /** The params of every submitted job, in order. */
  params: WorkerJobParams[];
}

export function fakeGeneration(options: { stepMs?: number; steps?: number } = {}): FakeGeneration {
  const jobs = new Map<string, { cancel: () => void }>();
  const port: FakeGeneration = {
    submitted: 0,
    cancelled: [],
    unreachable: false,
    stepMs: options.stepMs ?? 5,
    extensions: [],
    params: [],
    recovered: Promise.resolve(),
    job: () => undefined,
    submit(params, opts) {
      if (port.unreachable) {
        throw new DaemonError(
          'WORKER_UNREACHABLE',
          'Backend connection failed: no DGX worker answered at tcp://127.0.0.1:1 within 250 ms; start it (dgx-pixels worker) or check backend.zmq_endpoint',
        );
      }
      port.submitted++;
      port.params.push(params);
      const jobId = opts.jobId;
      const total = options.steps ?? 10;
      let cancelled = false;
      let wake: () => void = () => undefined;
      jobs.set(jobId, {
        cancel: () => {
          cancelled = true;
          wake();
        },
      });
      const done = (async (): Promise<JobOutcome> => {
        const t0 = Date.now();
        for (let step = 1; step <= total; step++) {
          await new Promise<void>((r) => {
            wake = r;
            setTimeout(r, port.stepMs);
          });
          if (cancelled || opts.signal?.aborted) return { status: 'cancelled' };
          const update: JobProgress = {
            jobId,
            state: 'running',
            stage: 'sampling',
            step,
            totalSteps: total,
            percent: (step / total) * 100,
            etaS: ((total - step) * port.stepMs) / 1000,
          };
          opts.onProgress?.(update);
        }
        if (params.prompt.includes('fail'))
          return { status: 'failed', error: 'Execution failed: out of memory', code: 'JOB_FAILED' };
        const [w, h] = [Math.min(params.size[0], 256), Math.min(params.size[1], 256)];
        const picture = renderProcedural({
          prompt: params.prompt,
          seed: params.seed ?? 7,
          width: w,
          height: h,
          ...(params.style ? { style: params.style } : {}),
        });
        const image = await encodeLikeModel(picture.image);
        return {
          status: 'completed',
          image,
          imagePath: `/worker/${jobId}.png`,
          durationS: (Date.now() - t0) / 1000,
          workerName: 'fake',
        };
      })();
      return { jobId, done };
    },
    async cancel(jobId) {
      port.cancelled.push(jobId);
      jobs.get(jobId)?.cancel();
      return true;
    },
    async status() {
      return [
        {
          name: 'fake',
          req: 'tcp://127.0.0.1:1',
          pub: 'tcp://127.0.0.1:2',
          reachable: !port.unreachable,
          inFlight: 0,
        },
      ];
    },
    async capabilities() {
      return [{ name: 'fake', extensions: [...port.extensions] }];
    },
    async listModels() {
      return [
        {
          name: 'sdxl_base_1.0.safetensors',
          path: '/models/sdxl.safetensors',
          model_type: 'checkpoint',
          size_mb: 6617,
        },
      ];
    },
    async close() {},
  };
  return port;
}
