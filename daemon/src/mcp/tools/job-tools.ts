import { z } from 'zod';
import type { Config } from '../../config/schema.js';
import type { JobStatus } from '../../service/index.js';
import { jobIdField } from '../fields.js';
import { defineTool } from '../tool-registry.js';
import { readOnlyHints } from './annotations.js';
import { awaitJobs } from './await-jobs.js';
import { JOB_ERROR_SHAPE, JobResultSchema, jobContent, jobResult } from './job-result.js';

/** get_job, wait_job, cancel_job, list_jobs: the handle of a long job is never lost. */

export function getJobTool(_config: Config) {
  return defineTool({
    name: 'get_job',
    title: 'Get a job',
    description:
      'Current state of one generation job (status, progress, stage, ETA, output paths when done). Use it to check ' +
      'on a job a generation call answered "running" for, without waiting; wait_job waits.',
    input: z.strictObject({ job_id: jobIdField }),
    output: JobResultSchema,
    annotations: readOnlyHints(false),
    errorShape: JOB_ERROR_SHAPE,
    async run(args, ctx) {
      const view = await ctx.service.getJob(args.job_id);
      return { structured: jobResult(view), content: jobContent(view) };
    },
  });
}

export function waitJobTool(config: Config) {
  return defineTool({
    name: 'wait_job',
    title: 'Wait for a job',
    description:
      'Wait until a generation job ends, at most timeout_s seconds, sending progress notifications; answers the ' +
      'finished result, or status "running" again if it is still going (call wait_job again). Cancelling this call ' +
      'stops only the wait, not the job (use cancel_job for that).',
    input: z.strictObject({
      job_id: jobIdField,
      timeout_s: z
        .number({ error: 'timeout_s must be a number of seconds' })
        .min(0, { error: 'timeout_s must be at least 0' })
        .max(3600, { error: 'timeout_s must be at most 3600' })
        .default(config.generation.default_wait_s)
        .describe(`Longest wait in seconds (default ${config.generation.default_wait_s})`),
    }),
    output: JobResultSchema,
    annotations: readOnlyHints(false),
    errorShape: JOB_ERROR_SHAPE,
    async run(args, ctx) {
      const known = await ctx.service.getJob(args.job_id); // JOB_NOT_FOUND before waiting
      if (known.status !== 'queued' && known.status !== 'running')
        return { structured: jobResult(known), content: jobContent(known) };
      const [view] = await awaitJobs(ctx, [args.job_id], args.timeout_s, false);
      const final = view ?? (await ctx.service.getJob(args.job_id));
      return { structured: jobResult(final), content: jobContent(final) };
    },
  });
}

export function cancelJobTool(_config: Config) {
  return defineTool({
    name: 'cancel_job',
    title: 'Cancel a job',
    description:
      'Cancel a queued or running generation job, on the worker too; its result will not be deployed. A job that ' +
      'already ended is returned unchanged.',
    input: z.strictObject({ job_id: jobIdField }),
    output: JobResultSchema,
    annotations: {
      readOnlyHint: false,
      destructiveHint: true,
      idempotentHint: true,
      openWorldHint: true,
    },
    errorShape: JOB_ERROR_SHAPE,
    async run(args, ctx) {
      return { structured: jobResult(await ctx.service.cancelJob(args.job_id)) };
    },
  });
}

const STATUS_FILTER: Record<string, JobStatus> = {
  queued: 'queued',
  running: 'running',
  success: 'completed',
  error: 'failed',
  cancelled: 'cancelled',
};

export function listJobsTool(_config: Config) {
  return defineTool({
    name: 'list_jobs',
    title: 'List jobs',
    description:
      'Jobs this daemon has run since it started, newest first, optionally only those with one status. Use it to ' +
      'recover a job id a client lost (e.g. after a time-out) instead of generating again.',
    input: z.strictObject({
      status: z
        .enum(['queued', 'running', 'success', 'error', 'cancelled'], {
          error: 'status must be one of: queued, running, success, error, cancelled',
        })
        .optional(),
      limit: z
        .number({ error: 'limit must be an integer' })
        .int({ error: 'limit must be an integer' })
        .min(1, { error: 'limit must be at least 1' })
        .max(500, { error: 'limit must be at most 500' })
        .default(20),
    }),
    output: z.object({ jobs: z.array(JobResultSchema), count: z.number().int() }),
    annotations: readOnlyHints(false),
    async run(args, ctx) {
      const jobs = ctx.service
        .listJobs({
          status: args.status === undefined ? undefined : STATUS_FILTER[args.status],
          limit: args.limit,
        })
        .map(jobResult);
      return { structured: { jobs, count: jobs.length } };
    },
  });
}
