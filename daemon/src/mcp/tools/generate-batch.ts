import { join } from 'node:path';
import { z } from 'zod';
import type { Config } from '../../config/schema.js';
import type { JobView } from '../../service/index.js';
import { DEFAULT_INIT_STRENGTH, MAX_REFERENCES } from '../../service/index.js';
import {
  commonGenerationShape,
  conditioningShape,
  promptField,
  spriteOptionsShape,
  waitField,
} from '../fields.js';
import { errorText, validationMessage } from '../tool-errors.js';
import { defineTool } from '../tool-registry.js';
import { awaitJobs } from './await-jobs.js';
import { toGenerationRequest } from './generate-sprite.js';
import { jobErrorText } from './job-result.js';

const BatchResultSchema = z.object({
  status: z
    .enum(['success', 'partial', 'error', 'running'])
    .describe('running: some jobs still going; call wait_job on them'),
  job_ids: z.array(z.string().nullable()),
  output_paths: z.array(z.string().nullable()),
  successful: z.number().int(),
  failed: z.number().int(),
  total_time: z.number(),
  errors: z.array(z.string()).nullable(),
  pending: z.number().int().optional().describe('Jobs not finished when the wait ended'),
  statuses: z.array(z.string()).optional(),
});

export function generateBatchTool(config: Config) {
  const max = config.generation.max_batch_size;
  const prompt = promptField(config.validation);
  const input = z.strictObject({
    // Items are checked one by one below, like the seed: one bad prompt fails only itself.
    prompts: z
      .array(z.unknown(), { error: 'Prompts must be a list of strings' })
      .min(1, { error: 'Prompts list cannot be empty' })
      .max(max, { error: `Batch size cannot exceed ${max}` })
      .describe(`1–${max} prompts, one sprite each; they run in parallel across all workers`),
    ...commonGenerationShape(config),
    output_dir: z
      .string({ error: 'output_dir must be a folder path' })
      .min(1)
      .optional()
      .describe('Folder for the finished sprites, named <job_id>.png (default: the state dir)'),
    ...spriteOptionsShape(config),
    ...conditioningShape({ maxReferences: MAX_REFERENCES, initStrength: DEFAULT_INIT_STRENGTH }),
    wait_s: waitField(config),
  });
  return defineTool({
    name: 'generate_batch',
    title: 'Generate several sprites',
    description:
      'Generate several sprites at once, one per prompt, with the same style and settings. The jobs run in parallel ' +
      'across every configured GPU worker. Use it for a set of related sprites (enemies, items, tiles). Waits at most ' +
      'wait_s seconds, then answers status "running" with the job ids; finish with wait_job. reference / init_image / strength ' +
      'apply to every prompt (e.g. one character in several poses: reference: ["hero"]).',
    input,
    output: BatchResultSchema,
    annotations: {
      readOnlyHint: false,
      destructiveHint: false,
      idempotentHint: false,
      openWorldHint: true,
    },
    failurePrefix: 'Batch generation failed',
    errorShape: {
      job_ids: [],
      output_paths: [],
      successful: 0,
      failed: 0,
      total_time: 0,
      errors: [],
    },
    async run(args, ctx) {
      if (args.output_dir !== undefined) ctx.service.checkWritable(args.output_dir, 'output_dir');
      const startedMs = Date.now();
      const jobIds: (string | null)[] = [];
      const errors: string[] = [];
      // reference / init_image are read and checked once for every prompt (one error, not N)
      const base = await ctx.service.withConditioning(
        toGenerationRequest(ctx.config, {
          ...args,
          prompt: '',
          thumbnail: false,
          thumbnail_size: 0,
          output_path: undefined,
        }),
      );
      // Submit everything first: the pool spreads the jobs over the workers.
      const submissions = args.prompts.map(async (raw, i) => {
        const checked = prompt.safeParse(raw);
        if (!checked.success) {
          const msg = validationMessage(
            checked.error.issues.map((iss) => ({ ...iss, path: ['prompt'] })),
            { prompt: raw },
          );
          return { i, error: `Prompt ${i}: ${msg}` };
        }
        try {
          const view = await ctx.service.startGeneration({ ...base, prompt: checked.data });
          return { i, jobId: view.jobId };
        } catch (err) {
          return { i, error: `Prompt ${i}: ${errorText(err)}` };
        }
      });
      for (const s of await Promise.all(submissions)) {
        jobIds[s.i] = 'jobId' in s ? (s.jobId as string) : null;
        if ('error' in s && s.error !== undefined) errors.push(s.error);
      }
      const live = jobIds.filter((id): id is string => id !== null);
      const views = new Map<string, JobView>();
      for (const v of await awaitJobs(ctx, live, args.wait_s, true)) views.set(v.jobId, v);
      // Copy finished sprites into output_dir under their job ids (the seed's naming).
      const outputPaths: (string | null)[] = [];
      let successful = 0;
      let pending = 0;
      for (const [i, id] of jobIds.entries()) {
        const v = id === null ? undefined : views.get(id);
        if (v === undefined) {
          outputPaths.push(null);
          continue;
        }
        if (v.status === 'completed' && v.outputPath !== undefined) {
          successful++;
          outputPaths.push(
            args.output_dir === undefined
              ? v.outputPath
              : await ctx.service.copyOutput(v.outputPath, join(args.output_dir, `${v.jobId}.png`)),
          );
        } else {
          outputPaths.push(null);
          if (v.status === 'failed' || v.status === 'cancelled')
            errors.push(`Prompt ${i}: ${jobErrorText(v) ?? v.status}`);
          else pending++;
        }
      }
      const failed = jobIds.length - successful - pending;
      const status =
        pending > 0 ? 'running' : failed === 0 ? 'success' : successful > 0 ? 'partial' : 'error';
      const structured = {
        status,
        job_ids: jobIds,
        output_paths: outputPaths,
        successful,
        failed,
        total_time: Math.round((Date.now() - startedMs) / 10) / 100,
        errors: errors.length > 0 ? errors : null,
        pending,
        statuses: jobIds.map((id) => (id === null ? 'error' : (views.get(id)?.status ?? 'error'))),
      } as const;
      if (status === 'error') {
        return {
          structured,
          isError: true,
          errorText: `Batch generation failed: ${errors.join('; ')}`,
        };
      }
      return { structured };
    },
  });
}
