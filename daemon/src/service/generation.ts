import { createHash, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { DaemonError, errorMessage } from '../errors.js';
import { withConditioning } from './conditioning.js';
import type { ServiceContext } from './context.js';
import { deploySprite } from './deploy.js';
import { checkWritable, writeFileAtomic } from './files.js';
import type { FailedOutcome, JobOutcome } from './generation-backend.js';
import {
  GENERATION_SHARE,
  type JobRecord,
  type JobView,
  newJobView,
  pngSize,
  type SpriteRequest,
} from './job-view.js';
import { paletteColoursFor } from './project-palette.js';
import type { ProcessedSprite } from './results.js';
import { processSprite, thumbnail, warmSprites } from './stages.js';

/**
 * The generation pipeline of one job: raw-output cache or worker → raw file →
 * post-process → output file → thumbnail → optional deploy.
 */

type Started = { cached: Buffer } | { done: Promise<JobOutcome>; startedMs: number };

/**
 * Validate and submit a generation job; returns its first view at once while
 * the job runs on. Throws DaemonError (BUSY, WORKER_UNREACHABLE, VALIDATION…).
 */
export async function startGeneration(
  ctx: ServiceContext,
  request: SpriteRequest,
): Promise<JobView> {
  const { jobs } = ctx;
  if (request.deploy && request.name === undefined) {
    throw new DaemonError(
      'VALIDATION',
      'Validation error in name: deploy: true needs a sprite name; pass name, e.g. "knight_idle"',
    );
  }
  // reference / init_image: read through the jail, the source's size and palette (issue 15)
  request = await withConditioning(ctx, request);
  const paletteColours = await paletteColoursFor(ctx, request.palette, request.assetsDir);
  if (paletteColours !== undefined) request = { ...request, paletteColours };
  if (request.outputPath !== undefined) checkWritable(ctx, request.outputPath, 'output_path');
  const view = newJobView({
    jobId: randomUUID(),
    status: 'queued',
    prompt: request.prompt,
    createdAt: new Date().toISOString(),
    percent: 0,
    stage: 'queued',
    message: 'queued',
  });
  const record: JobRecord = {
    view,
    request,
    submitted: false,
    abort: new AbortController(),
    done: Promise.resolve(view),
    events: new EventEmitter(),
  };
  record.events.setMaxListeners(0);
  jobs.add(record); // BUSY past max_pending_jobs (the one count, shared with the pool)
  if (request.postprocess) warmSprites(ctx.sprites);
  // Submission errors (pool closed) surface to the caller directly; the job ends failed.
  const started = await submit(ctx, record).catch((err: unknown) => {
    jobs.finish(record, 'failed', err);
    throw err;
  });
  record.done = runJob(ctx, record, started).then(
    () => record.view,
    (err: unknown) => {
      jobs.finish(record, 'failed', err);
      return record.view;
    },
  );
  return { ...view };
}

async function submit(ctx: ServiceContext, record: JobRecord): Promise<Started> {
  const { config } = ctx;
  const key = cacheKey(ctx, record.request);
  if (key !== undefined) {
    const hit = await ctx.cache.get(key, config.performance.cache_ttl_s);
    if (hit !== undefined) return { cached: hit };
  }
  const generation = await ctx.generation();
  const req = record.request;
  const c = req.conditioning;
  // the job's id is the service's: the journal, the worker and a restarted daemon know it
  const submitted = generation.submit(
    {
      prompt: `${req.style} style: ${req.prompt}`,
      model: config.generation.default_model,
      size: req.resolution,
      steps: req.steps,
      cfgScale: req.cfgScale,
      lora: req.lora ?? config.generation.default_lora,
      animationFrames: req.animationFrames,
      tilesetGrid: req.tilesetGrid,
      seed: req.seed,
      negativePrompt: req.negativePrompt,
      style: req.style,
      // sent only to workers that list each capability (worker-client routing)
      initImage: c?.initImage,
      strength: c?.initImage === undefined ? undefined : c.strength,
      mask: c?.mask,
      referenceImages: c?.referenceImages,
    },
    {
      jobId: record.view.jobId,
      countedAs: record.view.jobId, // its place was taken by jobs.add
      signal: record.abort.signal,
      onProgress: (u) => ctx.jobs.onWorkerProgress(record, u),
    },
  );
  record.submitted = true;
  return { done: submitted.done, startedMs: Date.now() };
}

async function runJob(ctx: ServiceContext, record: JobRecord, started: Started): Promise<void> {
  const { jobs, config, cwd, stateDir } = ctx;
  const { view, request } = record;
  let raw: Buffer;
  if ('cached' in started) {
    raw = started.cached;
    view.cached = true;
    view.generationTimeS = 0;
    jobs.progress(record, GENERATION_SHARE, 'cached', 'raw output answered from the cache');
  } else {
    jobs.setStatus(record, 'running');
    const outcome = await withJobTimeout(ctx, record, started.done);
    if (record.view.status === 'cancelled') return; // a late result after cancel is ignored
    if (outcome.status === 'cancelled') return jobs.finish(record, 'cancelled');
    if (outcome.status === 'failed')
      return jobs.finish(record, 'failed', new DaemonError(outcome.code, outcome.error));
    raw = outcome.image;
    view.generationTimeS =
      outcome.durationS > 0 ? outcome.durationS : (Date.now() - started.startedMs) / 1000;
    view.workerName = outcome.workerName;
    const key = cacheKey(ctx, request);
    if (key !== undefined)
      await ctx.cache.put(key, raw).catch((err: unknown) => {
        ctx.logger.warn({ err: errorMessage(err) }, 'raw-output cache write failed');
      });
  }
  jobs.setStatus(record, 'running');
  view.rawPath = await writeFileAtomic(
    cwd,
    join(stateDir, config.generation.output_dir, `${view.jobId}.raw.png`),
    raw,
  );

  let png = raw;
  let sheet: ProcessedSprite['sheet'];
  if (request.postprocess) {
    jobs.progress(record, GENERATION_SHARE + 2, 'post_processing', 'post-processing the sprite');
    let processed = await processSprite(await ctx.sprites(), raw, request);
    const c = request.conditioning;
    if (c !== undefined && (c.anchor !== undefined || c.composite !== undefined)) {
      // the source's anchor, then (an edit) the original outside the mask, in sprite space
      const { finishConditioned } = await import('../sprites/conditioning.js');
      processed = { ...processed, ...(await finishConditioned(processed.png, c)) };
    }
    png = processed.png;
    sheet = processed.sheet;
    view.kind = processed.sheet?.kind ?? 'sprite';
    view.width = processed.width;
    view.height = processed.height;
  } else {
    const size = pngSize(raw);
    view.width = size?.[0];
    view.height = size?.[1];
  }
  if (record.view.status === 'cancelled') return;
  const target = request.outputPath ?? join(stateDir, 'sprites', `${view.jobId}.png`);
  view.outputPath = request.postprocess ? await writeFileAtomic(cwd, target, png) : view.rawPath;
  if (request.postprocess === false && request.outputPath !== undefined) {
    view.outputPath = await writeFileAtomic(cwd, request.outputPath, raw);
  }
  if (request.thumbnail !== undefined) {
    view.thumbnailPng = await thumbnail(png, request.thumbnail);
  }
  if (request.deploy && request.name !== undefined) {
    jobs.progress(record, GENERATION_SHARE + 6, 'deploying', `deploying ${request.name}`);
    view.deployed = await deploySprite(ctx, {
      spritePath: view.outputPath,
      png,
      assetsDir: request.assetsDir,
      name: request.name,
      updateManifest: true,
      request,
      sheet,
    });
  }
  jobs.finish(record, 'completed');
}

/**
 * backend.timeout_s bounds a generation (the seed's "Generation timed out after
 * 300s"); the worker job is cancelled when it passes. A few seconds of grace let
 * the backend's own time-out report first.
 */
async function withJobTimeout(
  ctx: ServiceContext,
  record: JobRecord,
  done: Promise<JobOutcome>,
): Promise<JobOutcome> {
  const limitS = ctx.config.backend.timeout_s;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<JobOutcome>((resolveTimeout) => {
    timer = setTimeout(
      () => {
        if (record.submitted) {
          ctx
            .generation()
            .then((g) => g.cancel(record.view.jobId))
            .catch(() => undefined);
        }
        resolveTimeout({
          status: 'failed',
          code: 'JOB_TIMEOUT',
          error: `Generation timed out after ${limitS}s; the worker may be overloaded or stuck. Check get_status, retry, or raise backend.timeout_s.`,
        });
      },
      (limitS + 2) * 1000,
    );
    timer.unref();
  });
  try {
    // the backend's own time-out: the seed's sentence with this daemon's limit (ours already has it)
    const backendDone = done.then((outcome) =>
      outcome.status === 'failed' && outcome.code === 'JOB_TIMEOUT'
        ? timedOut(outcome, limitS)
        : outcome,
    );
    return await Promise.race([backendDone, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Raw-output cache key of a request, or undefined when caching is off or the seed is random. */
function cacheKey(ctx: ServiceContext, request: SpriteRequest): string | undefined {
  const { config } = ctx;
  if (!config.performance.cache_enabled || request.seed === undefined) return undefined;
  const identity = {
    prompt: request.prompt,
    style: request.style,
    resolution: request.resolution,
    model: config.generation.default_model,
    lora: request.lora ?? config.generation.default_lora ?? null,
    steps: request.steps,
    cfg: request.cfgScale,
    seed: request.seed,
    negative: request.negativePrompt ?? null,
    frames: request.animationFrames ?? null,
    grid: request.tilesetGrid ?? null,
    // init image, mask, references and strength (absent for a text-only request: old keys stay valid)
    ...(request.conditioning === undefined ? {} : { conditioning: request.conditioning.key }),
  };
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex');
}

/** A backend time-out in the seed's wording, with the daemon's limit, keeping the backend's detail. */
function timedOut(outcome: FailedOutcome, limitS: number): FailedOutcome {
  return { ...outcome, error: `Generation timed out after ${limitS}s: ${outcome.error}` };
}
