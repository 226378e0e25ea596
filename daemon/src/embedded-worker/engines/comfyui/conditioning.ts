import sharp from 'sharp';
import { decodeConditioningPng } from '../../decode-png.js';
import type { EngineJob } from '../../engine.js';
import { ComfyHttpError, comfyFetch, expectOk } from './http.js';
import type { WorkflowGraph } from './workflow.js';

/**
 * Image conditioning on ComfyUI (protocol/conditioning.ts): the worker uploads the PNGs
 * with `POST /upload/image` (multipart, as ComfyUI's server.py `upload_image` takes them)
 * and fills a workflow template that loads them (config/workflows/README.md):
 *  - img2img: `LoadImage` → `VAEEncode` → `KSampler` with `denoise = strength`;
 *  - inpainting: + `LoadImageMask` (channel red: white = repaint) → `SetLatentNoiseMask`;
 *  - references: IP-Adapter nodes (ComfyUI_IPAdapter_plus: `IPAdapterUnifiedLoader` →
 *    `IPAdapter`) spliced between the model and the sampler, when `/object_info` lists them.
 * The mask goes up as a plain image through /upload/image: ComfyUI's /upload/mask only
 * copies a mask into the alpha of an image already on the server (the mask editor's path).
 */

/** Template files for conditioned jobs, beside the text-to-image one in the workflow dir. */
export const IMG2IMG_WORKFLOW = 'sprite_img2img.json';
export const INPAINT_WORKFLOW = 'sprite_inpaint.json';

/** The IP-Adapter nodes references need (ComfyUI_IPAdapter_plus, v2 names). */
export const IPADAPTER_NODES = ['IPAdapterUnifiedLoader', 'IPAdapter'] as const;
/** IPAdapterUnifiedLoader preset (SDXL-capable) and IPAdapter weight used for references. */
export const IPADAPTER_PRESET = 'PLUS (high strength)';
export const IPADAPTER_WEIGHT = 0.8;

/** Default denoise when init_image comes without strength: img2img 0.75, inpainting 1. */
export const DEFAULT_IMG2IMG_DENOISE = 0.75;
export const DEFAULT_INPAINT_DENOISE = 1;

/** The fix for a ComfyUI without the IP-Adapter nodes. */
export const IPADAPTER_FIX =
  'install ComfyUI_IPAdapter_plus (github.com/cubiq/ComfyUI_IPAdapter_plus) into ComfyUI/custom_nodes with its models (models/ipadapter, models/clip_vision) and restart ComfyUI and the worker, or leave reference_images out';

/**
 * Which of `classes` this ComfyUI lacks: `GET /object_info/{class}` answers `{}` for an
 * unknown node (server.py `get_object_info_node`).
 */
export async function missingNodes(base: string, classes: readonly string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const c of classes) {
    const res = await expectOk(
      await comfyFetch(base, `/object_info/${encodeURIComponent(c)}`),
      `GET /object_info/${c}`,
    );
    const info = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (info === null || typeof info !== 'object' || !(c in info)) missing.push(c);
  }
  return missing;
}

/**
 * Upload one PNG into ComfyUI's input folder (`POST /upload/image`, multipart fields
 * `image`, `type=input`, `overwrite=true`); returns the name a LoadImage node takes
 * (`subfolder/name` when ComfyUI put it in a subfolder).
 */
export async function uploadImage(
  base: string,
  png: Uint8Array,
  filename: string,
): Promise<string> {
  const form = new FormData();
  form.append('image', new Blob([new Uint8Array(png)], { type: 'image/png' }), filename);
  form.append('type', 'input');
  form.append('overwrite', 'true');
  const res = await expectOk(
    await comfyFetch(base, '/upload/image', { method: 'POST', body: form, timeoutMs: 30_000 }),
    `POST /upload/image (${filename})`,
  );
  const body = (await res.json().catch(() => ({}))) as { name?: unknown; subfolder?: unknown };
  if (typeof body.name !== 'string' || body.name === '')
    throw new ComfyHttpError(
      `ComfyUI answered POST /upload/image (${filename}) without a file name; is this ComfyUI's server?`,
    );
  return typeof body.subfolder === 'string' && body.subfolder !== ''
    ? `${body.subfolder}/${body.name}`
    : body.name;
}

/** The init picture at the job size (nearest, so pixel art stays crisp), flattened on white. */
export async function initForComfy(
  png: Uint8Array,
  width: number,
  height: number,
): Promise<Buffer> {
  const img = await decodeConditioningPng(png, 'init_image');
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: 4 } })
    .resize(width, height, { kernel: 'nearest', fit: 'fill' })
    .flatten({ background: '#ffffff' })
    .png()
    .toBuffer();
}

/** The mask at the job size as black/white RGB (white where opaque and light = repaint). */
export async function maskForComfy(
  png: Uint8Array,
  width: number,
  height: number,
): Promise<Buffer> {
  const img = await decodeConditioningPng(png, 'mask');
  const grey = Buffer.alloc(img.width * img.height * 3);
  for (let i = 0; i < img.width * img.height; i++) {
    const p = i * 4;
    const luma =
      0.299 * (img.data[p] as number) +
      0.587 * (img.data[p + 1] as number) +
      0.114 * (img.data[p + 2] as number);
    grey.fill((img.data[p + 3] as number) >= 128 && luma >= 128 ? 255 : 0, i * 3, i * 3 + 3);
  }
  return sharp(grey, { raw: { width: img.width, height: img.height, channels: 3 } })
    .resize(width, height, { kernel: 'nearest', fit: 'fill' })
    .png()
    .toBuffer();
}

/** A reference fitted into 512×512 (nearest, centred on white): one size for ImageBatch. */
export async function referenceForComfy(png: Uint8Array, index: number): Promise<Buffer> {
  const img = await decodeConditioningPng(png, `reference_images[${index}]`);
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: 4 } })
    .resize(512, 512, { kernel: 'nearest', fit: 'contain', background: '#ffffffff' })
    .flatten({ background: '#ffffff' })
    .png()
    .toBuffer();
}

/** Names of the uploaded inputs of one job. */
export interface UploadedInputs {
  init?: string;
  mask?: string;
  references?: string[];
}

/**
 * Fill the uploaded names into a conditioned template (LoadImage ← init, LoadImageMask ←
 * mask), set every sampler's denoise to the job's strength, and splice the IP-Adapter
 * nodes in for references. Mutates and returns `graph` (a fresh copy from fillWorkflow).
 */
export function applyConditioning(
  graph: WorkflowGraph,
  job: EngineJob,
  inputs: UploadedInputs,
): WorkflowGraph {
  const nodes = Object.entries(graph);
  if (inputs.init !== undefined) {
    const load = nodes.find(([, n]) => n.class_type === 'LoadImage');
    if (load !== undefined) load[1].inputs.image = inputs.init;
    const denoise =
      job.strength ??
      (inputs.mask === undefined ? DEFAULT_IMG2IMG_DENOISE : DEFAULT_INPAINT_DENOISE);
    for (const [, n] of nodes)
      if (SAMPLER_CLASSES.includes(n.class_type)) n.inputs.denoise = denoise;
  }
  if (inputs.mask !== undefined) {
    const mask = nodes.find(([, n]) => n.class_type === 'LoadImageMask');
    if (mask !== undefined) mask[1].inputs.image = inputs.mask;
  }
  if (inputs.references !== undefined && inputs.references.length > 0)
    spliceIpAdapter(graph, inputs.references);
  return graph;
}

const SAMPLER_CLASSES = ['KSampler', 'KSamplerAdvanced'];

/** IPAdapterUnifiedLoader + LoadImage per reference (+ ImageBatch) + IPAdapter before every sampler's model. */
function spliceIpAdapter(graph: WorkflowGraph, references: string[]): void {
  let next = Math.max(0, ...Object.keys(graph).map((k) => (/^\d+$/.test(k) ? Number(k) : 0))) + 1;
  const id = (): string => String(next++);
  const samplers = Object.values(graph).filter((n) => SAMPLER_CLASSES.includes(n.class_type));
  const modelLink = samplers[0]?.inputs.model;
  if (modelLink === undefined) return;
  const loader = id();
  graph[loader] = {
    class_type: 'IPAdapterUnifiedLoader',
    inputs: { model: modelLink, preset: IPADAPTER_PRESET },
    _meta: { title: 'IP-Adapter loader (references)' },
  };
  let image: [string, number] | undefined;
  for (const [i, name] of references.entries()) {
    const load = id();
    graph[load] = {
      class_type: 'LoadImage',
      inputs: { image: name },
      _meta: { title: `Reference ${i}` },
    };
    if (image === undefined) image = [load, 0];
    else {
      const batch = id();
      graph[batch] = { class_type: 'ImageBatch', inputs: { image1: image, image2: [load, 0] } };
      image = [batch, 0];
    }
  }
  const apply = id();
  graph[apply] = {
    class_type: 'IPAdapter',
    inputs: {
      model: [loader, 0],
      ipadapter: [loader, 1],
      image,
      weight: IPADAPTER_WEIGHT,
      start_at: 0,
      end_at: 1,
      weight_type: 'standard',
    },
    _meta: { title: 'IP-Adapter (references)' },
  };
  for (const s of samplers)
    if (JSON.stringify(s.inputs.model) === JSON.stringify(modelLink)) s.inputs.model = [apply, 0];
}
