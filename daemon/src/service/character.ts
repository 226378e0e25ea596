import { createHash, randomInt, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { basename, join } from 'node:path';
import type { Config } from '../config/schema.js';
import { DaemonError, errorMessage } from '../errors.js';
import type {
  CharacterAnimation,
  CharacterLayout,
  ProcessedCharacterSheet,
} from '../sprites/index.js';
import { type CharacterGeneration, generateCharacterRaw, requirePose } from './character-raw.js';
import type { ServiceContext } from './context.js';
import { deploySprite } from './deploy.js';
import { writeFileAtomic } from './files.js';
import {
  GENERATION_SHARE,
  type JobRecord,
  type JobView,
  newJobView,
  type SpriteRequest,
} from './job-view.js';
import { listPalettes, spriteOptions, warmSprites } from './stages.js';

/**
 * generate_character: one character in 4 or 8 facings with named animations, as
 * one sheet + Aseprite atlas (sprites/character-sheet.ts documents the layout and
 * the tags). The worker draws each (facing, clip) from the same prompt and seed with
 * the `pose` extension; the raw outputs are kept as one raw image laid out like the
 * sheet (raw-output cache, rebuilds without the GPU); post-processing gives every
 * frame the first facing's palette and one anchor; west-side facings are mirrored.
 */

export interface CharacterRequest {
  prompt: string;
  style: string;
  /** Model output size of ONE frame, [w, h] px. */
  resolution: [number, number];
  steps: number;
  cfgScale: number;
  lora?: string | undefined;
  directions: 4 | 8;
  animations: CharacterAnimation[];
  /** Mirror west-side facings from east-side ones (default true); false draws them. */
  mirror: boolean;
  /** Frame size [w, h] px (also the logical size the grid is detected at). */
  size?: [number, number] | undefined;
  palette?: string | undefined;
  colors?: number | undefined;
  removeBackground?: boolean | undefined;
  outline?: boolean | string | undefined;
  seed?: number | undefined;
  negativePrompt?: string | undefined;
  name?: string | undefined;
  deploy: boolean;
  assetsDir?: string | undefined;
}

/** The request's post-processing in sprites/ terms, frame size included. */
export function characterSheetOptions(request: CharacterRequest, name: string, imageName: string) {
  const options = spriteOptions(asGenerationRequest(request, request.seed));
  const { canvas: _canvas, ...rest } = options;
  return { ...rest, name, imageName, frameSize: request.size };
}

/** The character request as a SpriteRequest (job records, manifest `source`). */
export function asGenerationRequest(
  request: CharacterRequest,
  seed: number | undefined,
): SpriteRequest {
  return {
    prompt: request.prompt,
    style: request.style,
    resolution: request.resolution,
    steps: request.steps,
    cfgScale: request.cfgScale,
    lora: request.lora,
    postprocess: true,
    size: request.size,
    palette: request.palette,
    colors: request.colors,
    removeBackground: request.removeBackground,
    outline: request.outline,
    seed,
    negativePrompt: request.negativePrompt,
    name: request.name,
    deploy: request.deploy,
    assetsDir: request.assetsDir,
  };
}

/** The worker half of a request (same for every facing: prompt, seed, style). */
export function characterGeneration(
  config: Config,
  request: CharacterRequest,
  seed: number,
  layout: CharacterLayout,
): CharacterGeneration {
  return {
    layout,
    base: {
      prompt: `${request.style} style: ${request.prompt}`,
      model: config.generation.default_model,
      size: request.resolution,
      steps: request.steps,
      cfgScale: request.cfgScale,
      lora: request.lora ?? config.generation.default_lora,
      seed,
      negativePrompt: request.negativePrompt,
      style: request.style,
    },
  };
}

/**
 * Validate and start a character job; returns its first view at once. Throws
 * DaemonError (BUSY, VALIDATION, EXTENSION_UNSUPPORTED, WORKER_UNREACHABLE …).
 */
export async function startCharacter(
  ctx: ServiceContext,
  request: CharacterRequest,
): Promise<JobView> {
  const { config, jobs } = ctx;
  if (request.deploy && request.name === undefined) {
    throw new DaemonError(
      'VALIDATION',
      'Validation error in name: deploy: true needs a sprite name; pass name, e.g. "hero"',
    );
  }
  if (request.palette !== undefined) {
    const names = (await listPalettes()).map((p) => p.name);
    if (!names.includes(request.palette)) {
      throw new DaemonError(
        'VALIDATION',
        `Validation error in palette: Palette must be one of: ${names.join(', ')}; got "${request.palette}". Call list_styles to see each palette's colours.`,
      );
    }
  }
  const { characterLayout } = await import('../sprites/index.js');
  const layout = characterLayout(request.directions, request.animations, request.mirror);
  const seed = request.seed ?? randomInt(0, 2 ** 31);
  const gen = characterGeneration(config, request, seed, layout);
  const key = cacheKey(ctx, request, gen);
  const cached =
    key === undefined ? undefined : await ctx.cache.get(key, config.performance.cache_ttl_s);
  // fail at once (not in the job) when no worker can draw facings
  if (cached === undefined) await requirePose(await ctx.generation());
  const view = newJobView({
    jobId: randomUUID(),
    status: 'queued',
    prompt: request.prompt,
    createdAt: new Date().toISOString(),
    percent: 0,
    stage: 'queued',
    message: `queued: ${layout.generated.length * layout.clips.length} facing × animation jobs`,
  });
  const record: JobRecord = {
    view,
    request: asGenerationRequest(request, seed),
    submitted: false,
    abort: new AbortController(),
    done: Promise.resolve(view),
    events: new EventEmitter(),
  };
  record.events.setMaxListeners(0);
  jobs.add(record); // BUSY past max_pending_jobs; the set's worker jobs ride on this place
  warmSprites(ctx.sprites);
  record.done = runCharacter(ctx, record, request, gen, key, cached).then(
    () => record.view,
    (err: unknown) => {
      jobs.finish(record, record.abort.signal.aborted ? 'cancelled' : 'failed', err);
      return record.view;
    },
  );
  return { ...view };
}

async function runCharacter(
  ctx: ServiceContext,
  record: JobRecord,
  request: CharacterRequest,
  gen: CharacterGeneration,
  key: string | undefined,
  cached: Buffer | undefined,
): Promise<void> {
  const { jobs, cwd, stateDir, config } = ctx;
  const { view } = record;
  const started = Date.now();
  let raw: Buffer;
  let workerJobs = 0;
  if (cached !== undefined) {
    raw = cached;
    view.cached = true;
    view.generationTimeS = 0;
    jobs.progress(record, GENERATION_SHARE, 'cached', 'raw outputs answered from the cache');
  } else {
    jobs.setStatus(record, 'running');
    record.submitted = true;
    workerJobs = gen.layout.generated.length * gen.layout.clips.length;
    raw = await generateCharacterRaw(await ctx.generation(), gen, {
      countedAs: view.jobId,
      signal: record.abort.signal,
      onProgress: (percent, message) =>
        jobs.progress(record, (percent * GENERATION_SHARE) / 100, 'sampling', message),
    });
    view.generationTimeS = (Date.now() - started) / 1000;
    if (key !== undefined)
      await ctx.cache.put(key, raw).catch((err: unknown) => {
        ctx.logger.warn({ err: errorMessage(err) }, 'raw-output cache write failed');
      });
  }
  if (record.abort.signal.aborted) return;
  jobs.setStatus(record, 'running');
  view.rawPath = await writeFileAtomic(
    cwd,
    join(stateDir, config.generation.output_dir, `${view.jobId}.raw.png`),
    raw,
  );
  jobs.progress(record, GENERATION_SHARE + 2, 'post_processing', 'post-processing the set');
  const sprites = await import('../sprites/index.js');
  const base = request.name?.split('/').pop() ?? view.jobId;
  const sheet: ProcessedCharacterSheet = await (await ctx.sprites()).processCharacterSheet(
    raw,
    gen.layout,
    characterSheetOptions(request, base, `${view.jobId}.png`),
  );
  if (sheet.grew) {
    ctx.logger.warn(
      {
        job_id: view.jobId,
        size: request.size,
        frame: [sheet.grid.frameWidth, sheet.grid.frameHeight],
      },
      'character frames grew beyond size to hold every aligned figure',
    );
  }
  if (record.abort.signal.aborted) return;
  view.kind = 'sheet';
  view.width = sheet.width;
  view.height = sheet.height;
  view.outputPath = await writeFileAtomic(
    cwd,
    join(stateDir, 'sprites', `${view.jobId}.png`),
    sheet.png,
  );
  view.atlasPath = await writeFileAtomic(
    cwd,
    join(stateDir, 'sprites', `${view.jobId}.json`),
    Buffer.from(`${JSON.stringify(sheet.json, null, 2)}\n`),
  );
  view.character = {
    seed: gen.base.seed as number,
    directions: request.directions,
    facings: [...gen.layout.facings],
    columns: sheet.grid.columns,
    rows: sheet.grid.rows,
    frameWidth: sheet.grid.frameWidth,
    frameHeight: sheet.grid.frameHeight,
    tags: sheet.tags,
    palette: sheet.palette,
    anchor: sheet.anchor,
    workerJobs,
  };
  if (request.deploy && request.name !== undefined) {
    jobs.progress(record, GENERATION_SHARE + 6, 'deploying', `deploying ${request.name}`);
    const atlasJson = {
      ...sheet.json,
      meta: { ...sheet.json.meta, image: `${basename(request.name)}.png` },
    };
    view.deployed = await deploySprite(ctx, {
      spritePath: view.outputPath,
      png: sheet.png,
      assetsDir: request.assetsDir,
      name: request.name,
      updateManifest: true,
      request: record.request,
      sheet: { kind: 'sheet', grid: sprites.manifestGrid(sheet.grid), atlasJson },
    });
    view.atlasPath = view.deployed.deployedPath.replace(/\.png$/, '.json');
  }
  jobs.finish(record, 'completed');
}

/** Raw-output cache key of a whole set, or undefined when caching is off or the seed is random. */
function cacheKey(
  ctx: ServiceContext,
  request: CharacterRequest,
  gen: CharacterGeneration,
): string | undefined {
  if (!ctx.config.performance.cache_enabled || request.seed === undefined) return undefined;
  const identity = {
    kind: 'character',
    ...gen.base,
    generated: gen.layout.generated,
    clips: gen.layout.clips.map((c) => [c.animation, c.frames]),
  };
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex');
}
