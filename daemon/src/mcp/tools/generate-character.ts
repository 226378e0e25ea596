import { z } from 'zod';
import type { Config } from '../../config/schema.js';
import type { CharacterRequest } from '../../service/index.js';
import {
  commonGenerationShape,
  promptField,
  spriteNameField,
  spriteOptionsShape,
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

const ANIMATION_ERROR =
  'Animations must be a list of {name, frames}: name lower-case letters, digits or "_" (starting with a letter, not "stand"), frames 1..16';

/** Arguments → the service's typed request (defaults from the config). */
export function toCharacterRequest(
  config: Config,
  args: {
    prompt: string;
    style: string;
    resolution: string;
    steps?: number | undefined;
    cfg_scale?: number | undefined;
    directions: 4 | 8;
    animations: { name: string; frames: number; duration_ms?: number | undefined }[];
    mirror: boolean;
    size?: [number, number] | undefined;
    palette?: string | undefined;
    colors?: number | undefined;
    remove_background?: boolean | undefined;
    outline?: boolean | string | undefined;
    seed?: number | undefined;
    negative_prompt?: string | undefined;
    name?: string | undefined;
    deploy: boolean;
    bevy_assets_dir?: string | undefined;
  },
): CharacterRequest {
  const [w, h] = args.resolution.split('x').map(Number) as [number, number];
  return {
    prompt: args.prompt,
    style: args.style,
    resolution: [w, h],
    steps: args.steps ?? config.generation.default_steps,
    cfgScale: args.cfg_scale ?? config.generation.default_cfg_scale,
    directions: args.directions,
    animations: args.animations.map((a) => ({
      name: a.name,
      frames: a.frames,
      durationMs: a.duration_ms,
    })),
    mirror: args.mirror,
    size: args.size,
    palette: args.palette,
    colors: args.colors,
    removeBackground: args.remove_background,
    outline: args.outline,
    seed: args.seed,
    negativePrompt: args.negative_prompt,
    name: args.name,
    deploy: args.deploy,
    assetsDir: args.bevy_assets_dir,
  };
}

export function generateCharacterTool(config: Config) {
  const opts = spriteOptionsShape(config);
  const input = z.strictObject({
    prompt: promptField(config.validation),
    directions: z
      .union([z.literal(4), z.literal(8)], { error: 'Directions must be 4 or 8' })
      .default(4)
      .describe(
        'Facings: 4 (rows south, west, east, north) or 8 (then south_west, south_east, north_west, north_east)',
      ),
    animations: z
      .array(
        z.strictObject({
          name: z
            .string({ error: ANIMATION_ERROR })
            .regex(/^[a-z][a-z0-9_]{0,31}$/, { error: ANIMATION_ERROR })
            .refine((n) => n !== 'stand', { error: ANIMATION_ERROR }),
          frames: z
            .number({ error: ANIMATION_ERROR })
            .int({ error: ANIMATION_ERROR })
            .min(1, { error: ANIMATION_ERROR })
            .max(16, { error: ANIMATION_ERROR }),
          duration_ms: z
            .number({ error: 'duration_ms must be a number of milliseconds' })
            .int()
            .min(10)
            .max(10_000)
            .optional()
            .describe('ms per frame (default 100 for walk/run, 200 otherwise)'),
        }),
        { error: ANIMATION_ERROR },
      )
      .max(8, { error: 'Animations must be at most 8' })
      .refine((list) => new Set(list.map((a) => a.name)).size === list.length, {
        error: 'Animations must have distinct names',
      })
      .default([])
      .describe(
        'Named animations per facing, e.g. [{"name": "walk", "frames": 4}]: tag <facing>_<name>. walk/run draw a walk cycle; other names an idle cycle',
      ),
    mirror: z
      .boolean({ error: 'mirror must be true or false' })
      .default(true)
      .describe(
        'West-side facings are the east-side ones mirrored (default); false generates them as their own art',
      ),
    ...commonGenerationShape(config),
    size: opts.size.describe(
      'Frame size [width, height] px, also the logical size the model grid is read at; default: the tightest frame that holds every aligned figure',
    ),
    palette: opts.palette,
    colors: opts.colors,
    remove_background: opts.remove_background,
    outline: opts.outline,
    seed: opts.seed.describe(
      'Seed of the whole set (every facing uses it); default random, reported back. A fixed seed enables the raw-output cache',
    ),
    negative_prompt: opts.negative_prompt,
    name: spriteNameField.optional(),
    deploy: z
      .boolean({ error: 'deploy must be true or false' })
      .default(false)
      .describe('Deploy the sheet + atlas as ONE manifest entry of kind "sheet" under `name`'),
    bevy_assets_dir: z
      .string({ error: 'bevy_assets_dir must be a folder path' })
      .min(1)
      .optional()
      .describe('Bevy assets folder for deploy (default: deployment.bevy_assets_base)'),
    wait_s: waitField(config),
  });
  return defineTool({
    name: 'generate_character',
    title: 'Generate a character set (facings × animations, one sheet)',
    description:
      'Generate one character in 4 or 8 facings, each with a still frame and the named animations, as ONE sprite sheet PNG ' +
      'plus an Aseprite json-hash atlas (atlas_path) with a frame tag per facing × animation: "south", "south_walk", … ' +
      'Rows are facings (south, west, east, north, then the diagonals), column 0 the still frame, then each animation; ' +
      "every frame has one palette (the first facing's unless palette is given) and one anchor (feet on the bottom row, body on one column), " +
      'so Bevy\'s TextureAtlasLayout::from_grid(frame, columns, rows) plays it without jitter. Needs a worker with the "pose" extension ' +
      '(the embedded procedural worker). Waits at most wait_s seconds, then answers {status: "running", job_id}; call wait_job.',
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
      const started = await ctx.service.startCharacter(toCharacterRequest(ctx.config, args));
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
