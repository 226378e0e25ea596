import { z } from 'zod';
import type { Config } from '../../config/schema.js';
import { DEFAULT_INIT_STRENGTH, MAX_REFERENCES, type SpriteRequest } from '../../service/index.js';
import {
  commonGenerationShape,
  conditioningShape,
  promptField,
  spriteNameField,
  spriteOptionsShape,
  thumbnailFields,
  waitField,
} from '../fields.js';
import { defineTool } from '../tool-registry.js';
import { awaitJobs } from './await-jobs.js';
import {
  JOB_ERROR_SHAPE,
  JobResultSchema,
  jobContent,
  jobErrorText,
  jobResult,
} from './job-result.js';

/** Inline thumbnails never exceed this many bytes of PNG (before base64). */
export const THUMBNAIL_MAX_BYTES = 64 * 1024;

/** Arguments → the service's typed request (defaults from the config). */
export function toGenerationRequest(
  config: Config,
  args: {
    prompt: string;
    style: string;
    resolution: string;
    steps?: number | undefined;
    cfg_scale?: number | undefined;
    lora?: string | undefined;
    output_path?: string | undefined;
    postprocess: boolean;
    size?: [number, number] | undefined;
    palette?: string | undefined;
    colors?: number | undefined;
    remove_background?: boolean | undefined;
    outline?: boolean | string | undefined;
    animation_frames?: number | undefined;
    tileset_grid?: [number, number] | undefined;
    seed?: number | undefined;
    negative_prompt?: string | undefined;
    name?: string | undefined;
    deploy?: boolean | undefined;
    bevy_assets_dir?: string | undefined;
    thumbnail: boolean;
    thumbnail_size: number;
    reference?: string[] | undefined;
    init_image?: string | undefined;
    strength?: number | undefined;
  },
): SpriteRequest {
  const [w, h] = args.resolution.split('x').map(Number) as [number, number];
  return {
    prompt: args.prompt,
    style: args.style,
    resolution: [w, h],
    steps: args.steps ?? config.generation.default_steps,
    cfgScale: args.cfg_scale ?? config.generation.default_cfg_scale,
    lora: args.lora,
    outputPath: args.output_path,
    postprocess: args.postprocess,
    size: args.size,
    palette: args.palette,
    colors: args.colors,
    removeBackground: args.remove_background,
    outline: args.outline,
    animationFrames: args.animation_frames,
    tilesetGrid: args.tileset_grid,
    seed: args.seed,
    negativePrompt: args.negative_prompt,
    name: args.name,
    deploy: args.deploy ?? false,
    assetsDir: args.bevy_assets_dir,
    thumbnail: args.thumbnail
      ? { maxSize: args.thumbnail_size, maxBytes: THUMBNAIL_MAX_BYTES }
      : undefined,
    reference: args.reference,
    initImagePath: args.init_image,
    strength: args.strength,
  };
}

export function generateSpriteTool(config: Config) {
  const input = z.strictObject({
    prompt: promptField(config.validation),
    ...commonGenerationShape(config),
    lora: z
      .string({ error: 'LoRA must be a model name' })
      .min(1)
      .optional()
      .describe('LoRA model name (list_models)'),
    output_path: z
      .string({ error: 'output_path must be a file path' })
      .regex(/\.png$/i, { error: 'output_path must end in .png' })
      .optional()
      .describe('Where to write the finished sprite (default: the state dir)'),
    ...spriteOptionsShape(config),
    ...conditioningShape({ maxReferences: MAX_REFERENCES, initStrength: DEFAULT_INIT_STRENGTH }),
    name: spriteNameField.optional(),
    deploy: z
      .boolean({ error: 'deploy must be true or false' })
      .default(false)
      .describe('Also deploy the sprite into the Bevy assets folder under `name` (one call)'),
    bevy_assets_dir: z
      .string({ error: 'bevy_assets_dir must be a folder path' })
      .min(1)
      .optional()
      .describe('Bevy assets folder for deploy (default: deployment.bevy_assets_base)'),
    ...thumbnailFields(),
    wait_s: waitField(config),
  });
  return defineTool({
    name: 'generate_sprite',
    title: 'Generate a pixel-art sprite',
    description:
      'Generate one pixel-art game sprite from a text prompt on the GPU worker, post-process it into clean pixel art ' +
      '(size, palette, transparent background, outline; animation strips and tilesets) and optionally deploy it into ' +
      'the Bevy project (name + deploy: true). Use this for a single sprite; generate_batch for several. ' +
      "reference: [sprite names or PNG paths] draws the same character in a new pose, with the first reference's size, palette and anchor; " +
      'init_image + strength starts from a picture (img2img). To change part of a deployed sprite, use edit_sprite. ' +
      'Waits at most wait_s seconds: if the job is still going it answers {status: "running", job_id}; then call wait_job. ' +
      'Returns file paths and resource links, not image bytes (thumbnail: true adds a small inline preview).',
    input,
    output: JobResultSchema,
    annotations: {
      readOnlyHint: false,
      destructiveHint: true,
      idempotentHint: false,
      openWorldHint: true,
    },
    errorShape: JOB_ERROR_SHAPE,
    async run(args, ctx) {
      const request = toGenerationRequest(ctx.config, args);
      const started = await ctx.service.startGeneration(request);
      const [view] = await awaitJobs(ctx, [started.jobId], args.wait_s, true);
      const final = view ?? ctx.service.currentJob(started.jobId);
      const structured = jobResult(final);
      if (final.status === 'failed') {
        return { structured, isError: true, errorText: jobErrorText(final) ?? 'Generation failed' };
      }
      return { structured, content: jobContent(final) };
    },
  });
}
