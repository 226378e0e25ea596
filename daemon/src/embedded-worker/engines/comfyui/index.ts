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
import {
  applyConditioning,
  IMG2IMG_WORKFLOW,
  INPAINT_WORKFLOW,
  IPADAPTER_FIX,
  IPADAPTER_NODES,
  initForComfy,
  maskForComfy,
  missingNodes,
  referenceForComfy,
  type UploadedInputs,
  uploadImage,
} from './conditioning.js';
import { ComfyHttpError, comfyFetch, describePromptRejection, expectOk } from './http.js';
import { type ComfyImage, openSocket, waitForPrompt } from './watch.js';
import {
  fillWorkflow,
  loadWorkflowTemplate,
  type TemplateKind,
  type WorkflowGraph,
} from './workflow.js';

export interface ComfyEngineOptions {
  /** ComfyUI base URL, e.g. http://127.0.0.1:8188. */
  url: string;
  workflowDir: string;
  /** Template file name in workflowDir (API format). */
  workflow: string;
  /** img2img template in workflowDir; default sprite_img2img.json (absent: no init_image). */
  img2imgWorkflow?: string;
  /** Inpainting template in workflowDir; default sprite_inpaint.json (absent: no mask). */
  inpaintWorkflow?: string;
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
  const log = options.logger;
  // image conditioning: offered when its template is there and, for references, the IP-Adapter nodes
  const unsupported: Record<string, string> = {};
  const optional = async (
    file: string,
    kind: TemplateKind,
    extension: string,
  ): Promise<WorkflowGraph | undefined> => {
    try {
      return await loadWorkflowTemplate(options.workflowDir, file, kind);
    } catch (err) {
      if ((err as { cause?: NodeJS.ErrnoException }).cause?.code !== 'ENOENT') throw err;
      unsupported[extension] =
        `no ${kind} workflow template ${file} in ${options.workflowDir}; copy it from the package's config/workflows`;
      log.info({ file, dir: options.workflowDir }, `no ${kind} template; ${extension} is off`);
      return undefined;
    }
  };
  const img2img = await optional(
    options.img2imgWorkflow ?? IMG2IMG_WORKFLOW,
    'img2img',
    'init_image',
  );
  const inpaint = await optional(options.inpaintWorkflow ?? INPAINT_WORKFLOW, 'inpaint', 'mask');
  const noIpAdapter = await missingNodes(base, IPADAPTER_NODES).catch((err: Error) => {
    log.warn({ err: err.message }, 'could not ask ComfyUI for the IP-Adapter nodes');
    return [...IPADAPTER_NODES];
  });
  if (noIpAdapter.length > 0) {
    unsupported.reference_images = `ComfyUI at ${base} has no ${noIpAdapter.join(', ')} node (GET /object_info); ${IPADAPTER_FIX}`;
  }
  const extensions = [
    ...(img2img === undefined ? [] : ['init_image']),
    ...(img2img === undefined || inpaint === undefined ? [] : ['mask']),
    ...(noIpAdapter.length === 0 ? ['reference_images'] : []),
  ];

  /** Upload a job's conditioning PNGs (resized for the graph); their names for the template. */
  async function uploadInputs(job: EngineJob): Promise<UploadedInputs> {
    const prefix = `dgx-pixels_${job.jobId}`;
    const out: UploadedInputs = {};
    if (job.initImage !== undefined) {
      const png = await initForComfy(job.initImage, job.width, job.height);
      out.init = await uploadImage(base, png, `${prefix}_init.png`);
    }
    if (job.mask !== undefined) {
      const png = await maskForComfy(job.mask, job.width, job.height);
      out.mask = await uploadImage(base, png, `${prefix}_mask.png`);
    }
    if (job.referenceImages !== undefined) {
      out.references = [];
      for (const [i, ref] of job.referenceImages.entries()) {
        const png = await referenceForComfy(ref, i);
        out.references.push(await uploadImage(base, png, `${prefix}_ref${i}.png`));
      }
    }
    return out;
  }

  /** The graph of one job: the template its inputs need, filled in. */
  async function graphFor(job: EngineJob, seed: number, batch: number): Promise<WorkflowGraph> {
    const chosen =
      job.mask !== undefined ? inpaint : job.initImage !== undefined ? img2img : template;
    if (chosen === undefined)
      throw new Error(
        `this job needs ${job.mask !== undefined ? 'mask' : 'init_image'}, which is off: ${unsupported[job.mask !== undefined ? 'mask' : 'init_image']}`,
      );
    const graph = fillWorkflow(chosen, job, seed, batch);
    if (job.initImage === undefined && job.referenceImages === undefined) return graph;
    if (job.referenceImages !== undefined && noIpAdapter.length > 0)
      throw new Error(`reference_images: ${unsupported.reference_images}`);
    return applyConditioning(graph, job, await uploadInputs(job));
  }
  const pollMs = options.pollMs ?? 500;
  const timeoutMs = (options.timeoutS ?? 600) * 1000;

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
    extensions,
    unsupported,
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
      const graph = await graphFor(job, seed, batch);
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
