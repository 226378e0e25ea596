import { z } from 'zod';
import type { Config } from '../../config/schema.js';
import { progressFor } from '../progress.js';
import { defineTool } from '../tool-registry.js';
import { readOnlyHints } from './annotations.js';

/** list_models, get_status, list_styles: read-only questions about the daemon and its workers. */

const ModelSchema = z.looseObject({ name: z.string(), model_type: z.string().optional() });

export function listModelsTool(_config: Config) {
  return defineTool({
    name: 'list_models',
    title: 'List models',
    description:
      'Checkpoints, LoRAs and VAEs the GPU workers offer (name, type, size). Use it to pick a lora for generate_sprite.',
    input: z.strictObject({}),
    output: z.object({ models: z.array(ModelSchema), count: z.number().int() }),
    annotations: readOnlyHints(true),
    async run(_args, ctx) {
      const models = (await ctx.service.listModels()) as z.output<typeof ModelSchema>[];
      return { structured: { models, count: models.length } };
    },
  });
}

export function getStatusTool(_config: Config) {
  return defineTool({
    name: 'get_status',
    title: 'Daemon and worker status',
    description:
      'Health of the daemon (version, uptime, jobs by status, assets root) and of every GPU worker (reachable, queue, ' +
      'active jobs). Use it when generation fails with "Backend connection failed" or seems slow.',
    input: z.strictObject({}),
    output: z.object({
      daemon: z.looseObject({ version: z.string(), uptime_s: z.number() }),
      workers: z.array(z.looseObject({ name: z.string() })),
    }),
    annotations: readOnlyHints(true),
    async run(_args, ctx) {
      return { structured: await ctx.service.status() };
    },
  });
}

export function listStylesTool(config: Config) {
  const v = config.validation;
  const limits = {
    prompt_length: [v.min_prompt_length, v.max_prompt_length],
    steps: [v.min_steps, v.max_steps],
    cfg_scale: [v.min_cfg_scale, v.max_cfg_scale],
    resolutions: v.allowed_resolutions,
    styles: v.allowed_styles,
    max_batch_size: config.generation.max_batch_size,
    default_wait_s: config.generation.default_wait_s,
  };
  return defineTool({
    name: 'list_styles',
    title: 'List styles, palettes and limits',
    description:
      'The style presets (what each does to the prompt and post-processing: sprite size, colours, outline), the named ' +
      'palettes, and the argument limits of the generation tools. Call it before generating to choose style and palette.',
    input: z.strictObject({}),
    output: z.object({
      styles: z.array(z.unknown()),
      palettes: z.array(z.unknown()),
      limits: z.looseObject({}),
    }),
    annotations: readOnlyHints(false),
    async run(_args, ctx) {
      const { styles, palettes } = await ctx.service.listStyles();
      return { structured: { styles, palettes, limits } };
    },
  });
}

/** What rebuild_sprites answers: service/results.ts RebuildReport. */
const RebuildReportSchema = z.object({
  recipe_path: z.string().describe('The recipe file used'),
  assets_root: z.string(),
  dry_run: z.boolean(),
  rebuilt: z.array(z.string()).describe('Sprites redone (names)'),
  skipped: z.array(z.string()).describe('Sprites already up to date'),
  failed: z.array(z.object({ name: z.string(), error: z.string() })),
  generated: z.number().int().describe('GPU jobs run'),
  from_cache: z.number().int().describe('Sprites reprocessed from the raw-output cache'),
  reasons: z.record(z.string(), z.string()).describe('Why each sprite was (or would be) redone'),
  kept: z
    .record(z.string(), z.string())
    .describe(
      'Sprites left as they are although the recipe would redo them, and why (edited with edit_sprite; force: true redoes them)',
    ),
});

export function rebuildSpritesTool(_config: Config) {
  return defineTool({
    name: 'rebuild_sprites',
    title: 'Rebuild sprites from the recipe',
    description:
      "Make the Bevy assets match the project's sprite recipe (sprites.yaml): regenerate or re-post-process only the " +
      'entries whose recipe or pipeline version changed (raw outputs are cached, so palette or outline changes need no ' +
      'GPU). dry_run: true lists what would change without writing.',
    input: z.strictObject({
      recipe_path: z
        .string({ error: 'recipe_path must be a file path' })
        .min(1)
        .optional()
        .describe('Default: sprites.yaml beside the assets folder'),
      bevy_assets_dir: z
        .string({ error: 'bevy_assets_dir must be a folder path' })
        .min(1)
        .optional(),
      dry_run: z.boolean({ error: 'dry_run must be true or false' }).default(false),
      force: z
        .boolean({ error: 'force must be true or false' })
        .default(false)
        .describe('Redo every entry'),
    }),
    output: RebuildReportSchema,
    annotations: {
      readOnlyHint: false,
      destructiveHint: true,
      idempotentHint: true,
      openWorldHint: true,
    },
    async run(args, ctx) {
      const reporter = progressFor(ctx.extra, {
        logProgress: ctx.config.logging.log_progress,
        logger: ctx.logger,
      });
      const report = await ctx.service.rebuild({
        recipePath: args.recipe_path,
        assetsDir: args.bevy_assets_dir,
        dryRun: args.dry_run,
        force: args.force,
        onProgress: (p) =>
          reporter?.report(
            p.total === 0 ? 100 : (p.ended / p.total) * 100,
            `${p.name}: ${p.state} (${p.ended}/${p.total} recipes done)`,
          ),
      });
      return { structured: report };
    },
  });
}
