import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EngineJob } from '../../engine.js';

/** A ComfyUI API-format graph: node id → {class_type, inputs}. */
export type WorkflowGraph = Record<
  string,
  { class_type: string; inputs: Record<string, unknown>; _meta?: { title?: string } }
>;

const SAMPLERS = ['KSampler', 'KSamplerAdvanced'];

/** What a template is for: text-to-image, img2img (init_image) or inpainting (init_image + mask). */
export type TemplateKind = 'text' | 'img2img' | 'inpaint';

/** The nodes each kind of template must have besides a sampler and a SaveImage. */
const REQUIRED_BY_KIND: Record<TemplateKind, (readonly [string[], string])[]> = {
  text: [[['EmptyLatentImage'], 'an EmptyLatentImage']],
  img2img: [
    [['LoadImage'], 'a LoadImage (the init image)'],
    [['VAEEncode'], 'a VAEEncode'],
  ],
  inpaint: [
    [['LoadImage'], 'a LoadImage (the init image)'],
    [['LoadImageMask'], 'a LoadImageMask (the mask)'],
    [['SetLatentNoiseMask', 'VAEEncodeForInpaint'], 'a SetLatentNoiseMask or VAEEncodeForInpaint'],
  ],
};

/**
 * Read and check a workflow template once at start. Throws an Error naming the
 * file and what is wrong (not JSON, UI format instead of API format, no
 * sampler / latent / save node).
 */
export async function loadWorkflowTemplate(
  dir: string,
  file: string,
  kind: TemplateKind = 'text',
): Promise<WorkflowGraph> {
  const path = join(dir, file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(
      `cannot read ComfyUI workflow template ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)}); ` +
        'set generation.workflow_dir / generation.default_workflow to an API-format workflow (ComfyUI: Workflow → Export (API))',
      { cause: err },
    );
  }
  let graph: unknown;
  try {
    graph = JSON.parse(text);
  } catch (err) {
    throw new Error(`workflow template ${path} is not valid JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (graph === null || typeof graph !== 'object' || Array.isArray(graph)) {
    throw new Error(`workflow template ${path} must be a JSON object of nodes`);
  }
  if ('nodes' in graph && 'links' in graph) {
    throw new Error(
      `workflow template ${path} is in ComfyUI's UI format (nodes/links); export it with Workflow → Export (API) instead`,
    );
  }
  const nodes = Object.entries(graph as Record<string, unknown>);
  for (const [id, node] of nodes) {
    const n = node as { class_type?: unknown; inputs?: unknown };
    if (typeof n?.class_type !== 'string' || typeof n.inputs !== 'object' || n.inputs === null) {
      throw new Error(
        `workflow template ${path}: node ${id} has no class_type/inputs; is this an API-format export?`,
      );
    }
  }
  const g = graph as WorkflowGraph;
  const has = (types: string[]): boolean =>
    nodes.some(([, n]) => types.includes((n as { class_type: string }).class_type));
  for (const [types, what] of [
    [SAMPLERS, 'a KSampler'],
    ...REQUIRED_BY_KIND[kind],
    [['SaveImage', 'PreviewImage'], 'a SaveImage'],
  ] as const) {
    if (!has([...types]))
      throw new Error(
        `workflow template ${path} (${kind}) has no ${what} node; the worker fills ${kind === 'text' ? 'prompt, size and steps' : 'the uploaded images, prompt and denoise'} into it (config/workflows/README.md)`,
      );
  }
  return g;
}

const MODEL_FILE = /\.(safetensors|ckpt|pt|pth|bin)$/i;

/**
 * A copy of the template with the job filled in (see config/workflows/README.md).
 * `batch` images are generated (animation frames / tileset cells).
 */
export function fillWorkflow(
  template: WorkflowGraph,
  job: EngineJob,
  seed: number,
  batch: number,
): WorkflowGraph {
  const graph = structuredClone(template);
  const positive =
    job.style === undefined ? job.prompt : `${job.prompt}, ${job.style.replace(/_/g, ' ')} style`;
  for (const node of Object.values(graph)) {
    const inputs = node.inputs;
    if (SAMPLERS.includes(node.class_type)) {
      inputs[node.class_type === 'KSampler' ? 'seed' : 'noise_seed'] = seed;
      inputs.steps = job.steps;
      inputs.cfg = job.cfgScale;
      const pos = linkedNode(graph, inputs.positive);
      const neg = linkedNode(graph, inputs.negative);
      if (pos?.class_type === 'CLIPTextEncode') pos.inputs.text = positive;
      if (neg?.class_type === 'CLIPTextEncode' && job.negativePrompt !== undefined)
        neg.inputs.text = job.negativePrompt;
    }
    if (node.class_type === 'EmptyLatentImage') {
      inputs.width = job.width;
      inputs.height = job.height;
      inputs.batch_size = batch;
    }
    if (node.class_type === 'CheckpointLoaderSimple' && MODEL_FILE.test(job.model))
      inputs.ckpt_name = job.model;
    if (node.class_type === 'LoraLoader' && job.lora !== undefined && job.lora !== '')
      inputs.lora_name = job.lora;
  }
  return graph;
}

function linkedNode(graph: WorkflowGraph, link: unknown): WorkflowGraph[string] | undefined {
  return Array.isArray(link) && typeof link[0] === 'string' ? graph[link[0]] : undefined;
}

/** Our progress stage for the node ComfyUI is executing. */
export function stageOfNode(
  classType: string | undefined,
): 'loading_models' | 'encoding' | 'sampling' | 'decoding' | 'post_processing' | undefined {
  if (classType === undefined) return undefined;
  if (/Loader/i.test(classType)) return 'loading_models';
  if (/TextEncode|CLIP|VAEEncode|LoadImage|LatentNoiseMask|IPAdapter|ImageBatch/i.test(classType))
    return 'encoding';
  if (/Sampler/i.test(classType)) return 'sampling';
  if (/Decode|VAE/i.test(classType)) return 'decoding';
  if (/Save|Preview/i.test(classType)) return 'post_processing';
  return undefined;
}
