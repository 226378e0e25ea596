import { z } from 'zod';
import type { Config } from '../../config/schema.js';
import { DEFAULT_EDIT_STRENGTH, type EditRequest } from '../../service/index.js';
import {
  commonGenerationShape,
  promptField,
  spriteNameField,
  strengthField,
  thumbnailFields,
  waitField,
} from '../fields.js';
import { defineTool } from '../tool-registry.js';
import { awaitJobs } from './await-jobs.js';
import { THUMBNAIL_MAX_BYTES } from './generate-sprite.js';
import {
  JOB_ERROR_SHAPE,
  JobResultSchema,
  jobContent,
  jobErrorText,
  jobResult,
} from './job-result.js';

const pathField = (label: string) =>
  z
    .string({ error: `${label} must be a file path` })
    .min(1, { error: `${label} must be a file path` })
    .refine((v) => !v.includes('\0'), { error: `${label} contains a NUL byte; remove it` });

const coord = (label: string, min: number) =>
  z
    .number({ error: `mask.${label} must be an integer` })
    .int({ error: `mask.${label} must be an integer` })
    .min(min, { error: `mask.${label} must be at least ${min}` })
    .max(4096, { error: `mask.${label} must be at most 4096` });

/** Arguments → the service's edit request (defaults from the config). */
export function toEditRequest(
  config: Config,
  args: {
    name?: string | undefined;
    sprite_path?: string | undefined;
    prompt: string;
    mask?: { x: number; y: number; width: number; height: number } | undefined;
    mask_path?: string | undefined;
    strength?: number | undefined;
    seed?: number | undefined;
    deploy?: boolean | undefined;
    palette?: string | undefined;
    style: string;
    resolution: string;
    steps?: number | undefined;
    cfg_scale?: number | undefined;
    negative_prompt?: string | undefined;
    bevy_assets_dir?: string | undefined;
    output_path?: string | undefined;
    thumbnail?: boolean | undefined;
    thumbnail_size?: number | undefined;
  },
): EditRequest {
  const [w, h] = args.resolution.split('x').map(Number) as [number, number];
  return {
    name: args.name,
    spritePath: args.sprite_path,
    prompt: args.prompt,
    mask: args.mask,
    maskPath: args.mask_path,
    strength: args.strength,
    seed: args.seed,
    deploy: args.deploy,
    palette: args.palette,
    style: args.style,
    resolution: [w, h],
    steps: args.steps ?? config.generation.default_steps,
    cfgScale: args.cfg_scale ?? config.generation.default_cfg_scale,
    negativePrompt: args.negative_prompt,
    assetsDir: args.bevy_assets_dir,
    outputPath: args.output_path,
    thumbnail: args.thumbnail
      ? { maxSize: args.thumbnail_size ?? 256, maxBytes: THUMBNAIL_MAX_BYTES }
      : undefined,
  };
}

export function editSpriteTool(config: Config) {
  const input = z.strictObject({
    name: spriteNameField
      .optional()
      .describe(
        'The deployed sprite to edit (its manifest name, e.g. "hero"); the result replaces it as a new revision unless deploy: false. Or sprite_path.',
      ),
    sprite_path: pathField('sprite_path')
      .optional()
      .describe(
        'A sprite PNG to edit instead of a deployed one (inside the project: assets folder, state dir, working directory or deployment.allowed_roots); the result goes to output_path',
      ),
    prompt: promptField(config.validation).describe(
      'What the repainted region shows, e.g. "red wizard hat"',
    ),
    mask: z
      .strictObject(
        {
          x: coord('x', 0),
          y: coord('y', 0),
          width: coord('width', 1),
          height: coord('height', 1),
        },
        { error: 'mask must be {x, y, width, height} in sprite pixels' },
      )
      .optional()
      .describe(
        'The region to repaint, in sprite pixels from the top-left corner, e.g. {x: 8, y: 0, width: 16, height: 10} for the head of a 32×32 sprite. Leave mask and mask_path out to redraw the whole sprite (img2img).',
      ),
    mask_path: pathField('mask_path')
      .optional()
      .describe(
        "A mask PNG instead of mask: white = repaint, black = keep; the sprite's size (another size is scaled nearest-neighbour)",
      ),
    strength: strengthField(DEFAULT_EDIT_STRENGTH),
    seed: z
      .number({ error: 'Seed must be an integer' })
      .int({ error: 'Seed must be an integer' })
      .min(0, { error: 'Seed must be at least 0' })
      .max(4294967295, { error: 'Seed must be at most 4294967295' })
      .optional()
      .describe('Fixed seed for a repeatable edit'),
    deploy: z
      .boolean({ error: 'deploy must be true or false' })
      .optional()
      .describe(
        'Deploy the result under `name` (a new manifest revision; default true with name). WRITES the assets and asset_manifest.json',
      ),
    palette: z
      .string({ error: 'Palette must be a palette name' })
      .min(1, { error: 'Palette must be a palette name' })
      .optional()
      .describe(
        'Snap the new pixels to this palette (list_styles) or "project"; default: the sprite\'s own colours',
      ),
    ...commonGenerationShape(config),
    negative_prompt: z
      .string({ error: 'Negative prompt must be a string' })
      .max(config.validation.max_prompt_length, {
        error: `Negative prompt must be at most ${config.validation.max_prompt_length} characters`,
      })
      .optional()
      .describe('What the repainted region must not show'),
    bevy_assets_dir: z
      .string({ error: 'bevy_assets_dir must be a folder path' })
      .min(1, { error: 'bevy_assets_dir must be a folder path' })
      .optional()
      .describe('Bevy assets folder holding `name` (default: deployment.bevy_assets_base)'),
    output_path: z
      .string({ error: 'output_path must be a file path' })
      .regex(/\.png$/i, { error: 'output_path must end in .png' })
      .optional()
      .describe('Where to write the edited sprite (default: the state dir)'),
    ...thumbnailFields(),
    wait_s: waitField(config),
  });
  return defineTool({
    name: 'edit_sprite',
    title: 'Edit a region of a sprite',
    description:
      'Repaint part of an existing sprite from a prompt (inpainting) and keep the rest exactly: every pixel outside the ' +
      'mask stays byte for byte the original, inside it the worker draws the new content, post-processed to the ' +
      "sprite's own size, palette and anchor. Give name (a deployed sprite: the result is deployed as its next revision " +
      'unless deploy: false) or sprite_path (a PNG; the result goes to output_path), and mask {x, y, width, height} in ' +
      'sprite pixels or mask_path (white = repaint). Single sprites only: sheets, tilesets and character sets are refused. ' +
      'Needs a worker that lists the init_image and mask capabilities (dgx-pixels worker); otherwise it fails at once ' +
      'naming the worker. Waits at most wait_s seconds, then answers {status: "running", job_id}; then call wait_job.',
    input,
    output: JobResultSchema,
    // It WRITES the deployed sprite (a new revision) by default: not read-only, destructive.
    annotations: {
      readOnlyHint: false,
      destructiveHint: true,
      idempotentHint: false,
      openWorldHint: true,
    },
    failurePrefix: 'Edit failed',
    errorShape: JOB_ERROR_SHAPE,
    async run(args, ctx) {
      const started = await ctx.service.startEdit(toEditRequest(ctx.config, args));
      const [view] = await awaitJobs(ctx, [started.jobId], args.wait_s, true);
      const final = view ?? ctx.service.currentJob(started.jobId);
      const structured = jobResult(final);
      if (final.status === 'failed') {
        return { structured, isError: true, errorText: jobErrorText(final) ?? 'Edit failed' };
      }
      return { structured, content: jobContent(final) };
    },
  });
}
