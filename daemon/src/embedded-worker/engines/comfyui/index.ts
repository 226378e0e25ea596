import { randomUUID } from 'node:crypto';
import sharp from 'sharp';
import type { Logger } from '../../../log.js';
import type { ModelInfo } from '../../../protocol/messages.js';
import {
  type Engine,
  type EngineContext,
  type EngineJob,
  type EngineResult,
  sortModels,
} from '../../engine.js';
import { ComfyHttpError, comfyFetch, describePromptRejection, expectOk } from './http.js';
import { type ComfyImage, openSocket, waitForPrompt } from './watch.js';
import { fillWorkflow, loadWorkflowTemplate } from './workflow.js';

export interface ComfyEngineOptions {
  /** ComfyUI base URL, e.g. http://127.0.0.1:8188. */
  url: string;
  workflowDir: string;
  /** Template file name in workflowDir (API format). */
  workflow: string;
  logger: Logger;
  /** /history polling interval when the websocket is absent; default 500 ms. */
  pollMs?: number;
  /** Longest wait for one prompt; default 600 s. */
  timeoutS?: number;
}

const FOLDERS: [string, ModelInfo['model_type']][] = [
  ['checkpoints', 'checkpoint'],
  ['loras', 'lora'],
  ['vae', 'vae'],
];

/**
 * The engine that drives a real ComfyUI. Checks `GET /system_stats` and loads
 * the workflow template at start (throws with the fix when either fails, as
 * the Python worker exits when ComfyUI does not answer).
 */
export async function createComfyEngine(options: ComfyEngineOptions): Promise<Engine> {
  const base = options.url.replace(/\/+$/, '');
  await expectOk(await comfyFetch(base, '/system_stats', { timeoutMs: 5000 }), 'GET /system_stats');
  const template = await loadWorkflowTemplate(options.workflowDir, options.workflow);
  const pollMs = options.pollMs ?? 500;
  const timeoutMs = (options.timeoutS ?? 600) * 1000;
  const log = options.logger;

  async function cancelPrompt(promptId: string): Promise<void> {
    // A queued prompt is deleted from the queue; a running one is interrupted.
    try {
      const queue = (await (await comfyFetch(base, '/queue')).json()) as {
        queue_pending?: unknown[][];
      };
      const pending = (queue.queue_pending ?? []).some((item) => item[1] === promptId);
      if (pending) {
        await comfyFetch(base, '/queue', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ delete: [promptId] }),
        });
      } else {
        await comfyFetch(base, '/interrupt', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ prompt_id: promptId }),
        });
      }
    } catch (err) {
      log.warn({ promptId, err: (err as Error).message }, 'could not cancel the ComfyUI prompt');
    }
  }

  async function download(image: ComfyImage): Promise<Buffer> {
    const q = new URLSearchParams({
      filename: image.filename,
      subfolder: image.subfolder,
      type: image.type,
    });
    const res = await expectOk(
      await comfyFetch(base, `/view?${q}`, { timeoutMs: 30_000 }),
      `GET /view?${q}`,
    );
    return Buffer.from(await res.arrayBuffer());
  }

  async function compose(
    images: Buffer[],
    cols: number,
    rows: number,
    width: number,
    height: number,
  ): Promise<Buffer> {
    const tiles = await Promise.all(
      images
        .slice(0, cols * rows)
        .map((img) => sharp(img).resize(width, height, { fit: 'fill' }).png().toBuffer()),
    );
    return sharp({
      create: { width: width * cols, height: height * rows, channels: 3, background: '#000000' },
    })
      .composite(
        tiles.map((input, i) => ({
          input,
          left: (i % cols) * width,
          top: Math.floor(i / cols) * height,
        })),
      )
      .png()
      .toBuffer();
  }

  return {
    name: 'comfyui',
    async listModels(): Promise<ModelInfo[]> {
      const models: ModelInfo[] = [];
      for (const [folder, type] of FOLDERS) {
        const res = await comfyFetch(base, `/models/${folder}`);
        if (res.status === 404) continue; // folder unknown to this ComfyUI
        const names = (await (await expectOk(res, `GET /models/${folder}`)).json()) as unknown;
        if (!Array.isArray(names)) continue;
        // ComfyUI names files relative to its models/<folder>; it does not expose sizes.
        for (const name of names)
          if (typeof name === 'string')
            models.push({ name, path: `${folder}/${name}`, model_type: type, size_mb: 0 });
      }
      return sortModels(models);
    },
    async generate(job: EngineJob, ctx: EngineContext): Promise<EngineResult> {
      const [cols, rows] = job.tilesetGrid ?? [Math.max(1, job.animationFrames ?? 1), 1];
      const batch = cols * rows;
      const seed = job.seed ?? Math.floor(Math.random() * 2 ** 48);
      const graph = fillWorkflow(template, job, seed, batch);
      const clientId = randomUUID();
      const ws = await openSocket(base, clientId, 2000);
      if (ws === undefined)
        log.warn(
          { base },
          'ComfyUI websocket unavailable; following the prompt by polling /history',
        );
      const progressQueue: Promise<void>[] = [];
      try {
        await ctx.progress({
          stage: 'initializing',
          step: 0,
          totalSteps: job.steps,
          percent: 0,
          etaS: job.steps * 0.5,
        });
        const started = performance.now();
        const res = await comfyFetch(base, '/prompt', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ prompt: graph, client_id: clientId }),
        });
        if (res.status === 400) {
          throw new ComfyHttpError(
            describePromptRejection(await res.json().catch(() => ({})), options.workflow),
          );
        }
        await expectOk(res, 'POST /prompt');
        const { prompt_id: promptId } = (await res.json()) as { prompt_id?: string };
        if (typeof promptId !== 'string')
          throw new ComfyHttpError('ComfyUI accepted the prompt but returned no prompt_id');
        log.debug({ jobId: job.jobId, promptId }, 'queued in ComfyUI');
        let images: ComfyImage[];
        try {
          images = await waitForPrompt({
            base,
            promptId,
            ws,
            signal: ctx.signal,
            totalSteps: job.steps,
            classOf: (id) => graph[id]?.class_type,
            onProgress: (p) => progressQueue.push(ctx.progress(p)),
            pollMs,
            timeoutMs,
          });
        } catch (err) {
          if (ctx.signal.aborted) await cancelPrompt(promptId);
          throw err;
        }
        const durationS = (performance.now() - started) / 1000;
        await Promise.all(progressQueue);
        const outputs = images.filter((i) => i.type === 'output');
        const chosen = outputs.length > 0 ? outputs : images;
        const files = await Promise.all(chosen.slice(0, batch).map(download));
        const png =
          batch > 1 && files.length >= batch
            ? await compose(files, cols, rows, job.width, job.height)
            : (files[0] as Buffer);
        return { png, durationS };
      } finally {
        ws?.close();
      }
    },
    async close(): Promise<void> {},
  };
}
