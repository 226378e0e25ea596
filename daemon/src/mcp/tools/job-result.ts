import { pathToFileURL } from 'node:url';
import type { ContentBlock } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { JobView } from '../../service/index.js';
import { failureText } from '../tool-errors.js';

/**
 * One job as every job tool reports it: the seed's generate_sprite fields
 * (`status`, `job_id`, `output_path`, `generation_time`, `error`) first, then
 * ours. `status` keeps the seed's "success" / "error" and adds "queued",
 * "running" (wait again with wait_job) and "cancelled".
 */
export const JobStatusSchema = z.enum(['success', 'queued', 'running', 'error', 'cancelled']);

const nullableString = z.string().nullable();
const nullableNumber = z.number().nullable();

export const jobResultShape = {
  status: JobStatusSchema.describe(
    'success | queued | running (call wait_job) | error | cancelled',
  ),
  job_id: nullableString.describe('Use with get_job, wait_job, cancel_job'),
  output_path: nullableString.describe('The finished (post-processed) sprite PNG'),
  generation_time: nullableNumber.describe('Seconds the worker took'),
  error: nullableString,
  raw_path: nullableString.optional().describe('The raw model output PNG'),
  kind: z
    .enum(['sprite', 'sheet', 'tileset'])
    .nullable()
    .optional()
    .describe('sheet: animation strip; tileset: grid of tiles'),
  width: z.number().int().nullable().optional(),
  height: z.number().int().nullable().optional(),
  progress: z.number().min(0).max(100).optional().describe('0–100'),
  stage: z.string().optional(),
  message: z.string().optional(),
  eta_s: nullableNumber.optional(),
  cached: z.boolean().optional().describe('Answered from the raw-output cache'),
  worker: nullableString.optional(),
  prompt: z.string().optional(),
  created_at: z.string().optional(),
  deployed_path: nullableString.optional(),
  manifest_updated: z.boolean().optional(),
  sprite_uri: nullableString.optional().describe('sprites://NAME once deployed'),
  revision: z
    .number()
    .int()
    .optional()
    .describe("The deployed sprite's manifest revision (a changed deploy or an edit bumps it)"),
  atlas_path: nullableString
    .optional()
    .describe('Aseprite json-hash atlas of a character sheet (frame tags, grid)'),
  character: z
    .object({
      seed: z.number().int(),
      directions: z.union([z.literal(4), z.literal(8)]),
      facings: z.array(z.string()).describe('Sheet rows, top to bottom'),
      columns: z.number().int(),
      rows: z.number().int(),
      frame_width: z.number().int(),
      frame_height: z.number().int(),
      tags: z
        .record(z.string(), z.tuple([z.number().int(), z.number().int()]))
        .describe('tag → [from, to] frame indices (row-major, inclusive)'),
      palette: z.array(z.string()).describe('The one palette of every frame (#rrggbb)'),
      anchor: z
        .object({ x: z.number().int(), y: z.number().int() })
        .describe('Body centre column and feet row inside every frame'),
      worker_jobs: z.number().int(),
    })
    .nullable()
    .optional()
    .describe('generate_character: what the sheet holds'),
};
export const JobResultSchema = z.object(jobResultShape);
export type JobResult = z.output<typeof JobResultSchema>;

/** The seed's result fields, all empty, of a job tool call that failed (errorShape of defineTool). */
export const JOB_ERROR_SHAPE = { job_id: null, output_path: null, generation_time: null };

const STATUS: Record<JobView['status'], JobResult['status']> = {
  queued: 'queued',
  running: 'running',
  completed: 'success',
  failed: 'error',
  cancelled: 'cancelled',
};

/** The error text of a failed job in the seed's wording. */
export function jobErrorText(view: JobView): string | null {
  if (view.error === undefined) return null;
  return failureText(view.errorCode ?? 'JOB_FAILED', view.error);
}

export function jobResult(view: JobView): JobResult {
  return {
    status: STATUS[view.status],
    job_id: view.jobId,
    output_path: view.outputPath ?? null,
    generation_time:
      view.generationTimeS === undefined ? null : Math.round(view.generationTimeS * 1000) / 1000,
    error: jobErrorText(view),
    raw_path: view.rawPath ?? null,
    kind: view.kind ?? null,
    width: view.width ?? null,
    height: view.height ?? null,
    progress: view.percent,
    stage: view.stage,
    message: view.message,
    eta_s: view.etaS ?? null,
    cached: view.cached,
    worker: view.workerName ?? null,
    prompt: view.prompt,
    created_at: view.createdAt,
    deployed_path: view.deployed?.deployedPath ?? null,
    manifest_updated: view.deployed?.manifestUpdated ?? false,
    sprite_uri: view.deployed ? `sprites://${view.deployed.name}` : null,
    ...(view.deployed?.revision === undefined ? {} : { revision: view.deployed.revision }),
    ...(view.atlasPath === undefined ? {} : { atlas_path: view.atlasPath }),
    ...(view.character === undefined
      ? {}
      : {
          character: {
            seed: view.character.seed,
            directions: view.character.directions,
            facings: view.character.facings,
            columns: view.character.columns,
            rows: view.character.rows,
            frame_width: view.character.frameWidth,
            frame_height: view.character.frameHeight,
            tags: view.character.tags,
            palette: view.character.palette,
            anchor: view.character.anchor,
            worker_jobs: view.character.workerJobs,
          },
        }),
  };
}

/** resource_link blocks for a finished job (file + deployed sprite) and the opt-in thumbnail. */
export function jobContent(view: JobView): ContentBlock[] {
  const out: ContentBlock[] = [];
  if (view.outputPath !== undefined) {
    out.push({
      type: 'resource_link',
      uri: pathToFileURL(view.outputPath).href,
      name: `${view.jobId}.png`,
      mimeType: 'image/png',
      description: 'The finished sprite',
    });
  }
  if (view.deployed !== undefined) {
    out.push({
      type: 'resource_link',
      uri: `sprites://${view.deployed.name}`,
      name: view.deployed.name,
      mimeType: 'image/png',
      description: `Deployed to ${view.deployed.relativePath}`,
    });
  }
  if (view.thumbnailPng !== undefined) {
    out.push({ type: 'image', data: view.thumbnailPng.toString('base64'), mimeType: 'image/png' });
  }
  return out;
}

/** Errors that are a failure of the call (not of a job): code → isError text. */
export function isFailed(view: JobView): boolean {
  return view.status === 'failed';
}
