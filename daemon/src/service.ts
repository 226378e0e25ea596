import { createHash, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import type { Config } from './config/schema.js';
import { DaemonError, errorMessage, isDaemonError } from './errors.js';
import type { Logger } from './log.js';
import {
  type DeployInput,
  type DeployResult,
  defaultPorts,
  type GenerationPort,
  type JobOutcome,
  type ProcessedSpriteView,
  type ProgressUpdate,
  type ServicePorts,
} from './service-ports.js';

export type { DeployResult, ProgressUpdate, ServicePorts };

/**
 * The one SpriteService that MCP tools and CLI commands both call. It turns a
 * typed generation request into a job (worker → post-process → optional deploy),
 * keeps every job's record until the process exits so no result is lost when a
 * caller stops waiting, and reports progress as one monotonic 0–100 scale.
 * Inputs are trusted: the MCP edge (mcp/fields.ts) validated them.
 */

export type JobStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

export interface GenerationRequest {
  prompt: string;
  style: string;
  /** Model output size, [w, h] px. */
  resolution: [number, number];
  steps: number;
  cfgScale: number;
  lora?: string | undefined;
  /** Where the post-processed sprite goes; default `<state_dir>/sprites/<job id>.png`. */
  outputPath?: string | undefined;
  /** false → the raw model output is the result. */
  postprocess: boolean;
  /** Target sprite size [w, h] px; default from the style preset. */
  size?: [number, number] | undefined;
  palette?: string | undefined;
  colors?: number | undefined;
  removeBackground?: boolean | undefined;
  outline?: boolean | string | undefined;
  animationFrames?: number | undefined;
  tilesetGrid?: [number, number] | undefined;
  seed?: number | undefined;
  negativePrompt?: string | undefined;
  /** Sprite name for deploy (and the manifest entry). */
  name?: string | undefined;
  deploy: boolean;
  /** Assets root for deploy; default deployment.bevy_assets_base. */
  assetsDir?: string | undefined;
  thumbnail?: { maxSize: number; maxBytes: number } | undefined;
}

export interface JobView {
  jobId: string;
  status: JobStatus;
  prompt: string;
  createdAt: string;
  /** Overall progress 0–100 and what the job is doing now. */
  percent: number;
  stage: string;
  message: string;
  etaS: number | undefined;
  outputPath: string | undefined;
  rawPath: string | undefined;
  width: number | undefined;
  height: number | undefined;
  /** sprite, sheet (animation strip) or tileset; undefined for raw output. */
  kind: 'sprite' | 'sheet' | 'tileset' | undefined;
  generationTimeS: number | undefined;
  workerName: string | undefined;
  cached: boolean;
  deployed: DeployResult | undefined;
  thumbnailPng: Buffer | undefined;
  error: string | undefined;
  /** The DaemonError code behind `error`, for tool-error wording. */
  errorCode: string | undefined;
}

interface JobRecord {
  view: JobView;
  request: GenerationRequest;
  backendJobId: string | undefined;
  abort: AbortController;
  done: Promise<JobView>;
  events: EventEmitter;
}

const TERMINAL: ReadonlySet<JobStatus> = new Set(['completed', 'failed', 'cancelled']);
/** Ended jobs kept for get_job / list_jobs (oldest dropped first), as the backend's JobStore keeps 1000. */
const MAX_KEPT_JOBS = 1000;
/** Share of the 0–100 scale the worker's generation takes; post-processing and deploy get the rest. */
const GENERATION_SHARE = 90;

export interface ServiceOptions {
  config: Config;
  logger: Logger;
  /** Replace real modules (tests of the MCP layer in isolation only). */
  ports?: Partial<ServicePorts>;
  /** Base for relative paths (state_dir, output paths); default process.cwd(). */
  cwd?: string;
}

export class SpriteService {
  readonly config: Config;
  readonly startedAt = Date.now();
  private readonly logger: Logger;
  private readonly ports: ServicePorts;
  private readonly cwd: string;
  private readonly jobs = new Map<string, JobRecord>();
  private readonly events = new EventEmitter();
  private closed = false;

  constructor(options: ServiceOptions) {
    this.config = options.config;
    this.logger = options.logger;
    this.cwd = options.cwd ?? process.cwd();
    this.ports = { ...defaultPorts(options.config, options.logger), ...options.ports };
    this.events.setMaxListeners(0);
  }

  /** Absolute path of the daemon's state directory. */
  get stateDir(): string {
    return resolve(this.cwd, this.config.state_dir);
  }

  /** The default assets root (deployment.bevy_assets_base), or undefined when not configured. */
  get defaultAssetsRoot(): string | undefined {
    const base = this.config.deployment.bevy_assets_base;
    return base === undefined ? undefined : resolve(this.cwd, base);
  }

  /**
   * Start a generation job and return its id at once; the job runs on even when
   * nobody waits for it. Throws DaemonError (BUSY, WORKER_UNREACHABLE, VALIDATION…)
   * when it cannot be submitted.
   */
  async startGeneration(request: GenerationRequest): Promise<JobView> {
    if (this.closed)
      throw new DaemonError('NOT_READY', 'the daemon is shutting down; retry shortly');
    const active = [...this.jobs.values()].filter((j) => !TERMINAL.has(j.view.status)).length;
    if (active >= this.config.performance.max_pending_jobs) {
      throw new DaemonError(
        'BUSY',
        `the daemon already has ${active} jobs queued or running (performance.max_pending_jobs = ${this.config.performance.max_pending_jobs}); wait for some with wait_job or list_jobs, then retry`,
      );
    }
    if (request.deploy && request.name === undefined) {
      throw new DaemonError(
        'VALIDATION',
        'Validation error in name: deploy: true needs a sprite name; pass name, e.g. "knight_idle"',
      );
    }
    if (request.palette !== undefined) await this.checkPalette(request.palette);
    if (request.outputPath !== undefined) this.checkWritable(request.outputPath, 'output_path');
    const jobId = randomUUID();
    const view: JobView = {
      jobId,
      status: 'queued',
      prompt: request.prompt,
      createdAt: new Date().toISOString(),
      percent: 0,
      stage: 'queued',
      message: 'queued',
      etaS: undefined,
      outputPath: undefined,
      rawPath: undefined,
      width: undefined,
      height: undefined,
      kind: undefined,
      generationTimeS: undefined,
      workerName: undefined,
      cached: false,
      deployed: undefined,
      thumbnailPng: undefined,
      error: undefined,
      errorCode: undefined,
    };
    const record: JobRecord = {
      view,
      request,
      backendJobId: undefined,
      abort: new AbortController(),
      done: Promise.resolve(view),
      events: new EventEmitter(),
    };
    record.events.setMaxListeners(0);
    this.jobs.set(jobId, record);
    // Submission errors (worker down, BUSY) surface to the caller directly.
    const started = await this.submit(record);
    record.done = this.runJob(record, started).then(
      () => record.view,
      (err: unknown) => {
        this.finish(record, 'failed', err);
        return record.view;
      },
    );
    return { ...view };
  }

  private async submit(
    record: JobRecord,
  ): Promise<{ cached: Buffer } | { done: Promise<JobOutcome>; startedMs: number }> {
    const cacheKey = this.cacheKey(record.request);
    if (cacheKey !== undefined) {
      const hit = await this.ports.cache.get(cacheKey, this.config.performance.cache_ttl_s);
      if (hit !== undefined) return { cached: hit };
    }
    const generation: GenerationPort = await this.ports.generation();
    const req = record.request;
    const submitted = await generation.submit(
      {
        prompt: `${req.style} style: ${req.prompt}`,
        model: this.config.generation.default_model,
        size: req.resolution,
        steps: req.steps,
        cfgScale: req.cfgScale,
        lora: req.lora ?? this.config.generation.default_lora,
        animationFrames: req.animationFrames,
        tilesetGrid: req.tilesetGrid,
        seed: req.seed,
        negativePrompt: req.negativePrompt,
        style: req.style,
      },
      { signal: record.abort.signal, onProgress: (u) => this.onWorkerProgress(record, u) },
    );
    record.backendJobId = submitted.jobId;
    return { done: submitted.done, startedMs: Date.now() };
  }

  private async runJob(
    record: JobRecord,
    started: { cached: Buffer } | { done: Promise<JobOutcome>; startedMs: number },
  ): Promise<void> {
    const { view, request } = record;
    let raw: Buffer;
    if ('cached' in started) {
      raw = started.cached;
      view.cached = true;
      view.generationTimeS = 0;
      this.progress(record, GENERATION_SHARE, 'cached', 'raw output answered from the cache');
    } else {
      this.setStatus(record, 'running');
      const outcome = await this.withJobTimeout(record, started.done);
      if (record.view.status === 'cancelled') return; // a late result after cancel is ignored
      if (outcome.status === 'cancelled') return this.finish(record, 'cancelled');
      if (outcome.status === 'failed') return this.finish(record, 'failed', outcome.error);
      raw = outcome.image;
      view.generationTimeS =
        outcome.durationS > 0 ? outcome.durationS : (Date.now() - started.startedMs) / 1000;
      view.workerName = outcome.workerName;
      const key = this.cacheKey(request);
      if (key !== undefined)
        await this.ports.cache.put(key, raw).catch((err: unknown) => {
          this.logger.warn({ err: errorMessage(err) }, 'raw-output cache write failed');
        });
    }
    this.setStatus(record, 'running');
    view.rawPath = await this.writeFile(
      join(this.stateDir, this.config.generation.output_dir, `${view.jobId}.raw.png`),
      raw,
    );

    let png = raw;
    let sheet: ProcessedSpriteView['sheet'];
    if (request.postprocess) {
      this.progress(record, GENERATION_SHARE + 2, 'post_processing', 'post-processing the sprite');
      const sprites = await this.ports.sprites();
      const processed = await sprites.process(raw, request);
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
    const target = request.outputPath ?? join(this.stateDir, 'sprites', `${view.jobId}.png`);
    view.outputPath = request.postprocess ? await this.writeFile(target, png) : view.rawPath;
    if (request.postprocess === false && request.outputPath !== undefined) {
      view.outputPath = await this.writeFile(request.outputPath, raw);
    }
    if (request.thumbnail !== undefined) {
      const sprites = await this.ports.sprites();
      view.thumbnailPng = await sprites.thumbnail(png, request.thumbnail);
    }
    if (request.deploy && request.name !== undefined) {
      this.progress(record, GENERATION_SHARE + 6, 'deploying', `deploying ${request.name}`);
      view.deployed = await this.deploy({
        spritePath: view.outputPath,
        png,
        assetsDir: request.assetsDir,
        name: request.name,
        updateManifest: true,
        request,
        sheet,
      });
    }
    this.finish(record, 'completed');
  }

  /**
   * backend.timeout_s bounds a generation (the seed's "Generation timed out after
   * 300s"); the worker job is cancelled when it passes. A few seconds of grace let
   * the backend's own time-out report first.
   */
  private async withJobTimeout(record: JobRecord, done: Promise<JobOutcome>): Promise<JobOutcome> {
    const limitS = this.config.backend.timeout_s;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<JobOutcome>((resolveTimeout) => {
      timer = setTimeout(
        () => {
          if (record.backendJobId !== undefined) {
            this.ports
              .generation()
              .then((g) => g.cancel(record.backendJobId as string))
              .catch(() => undefined);
          }
          resolveTimeout({
            status: 'failed',
            error: `Generation timed out after ${limitS}s; the worker may be overloaded or stuck. Check get_status, retry, or raise backend.timeout_s.`,
          });
        },
        (limitS + 2) * 1000,
      );
      timer.unref();
    });
    try {
      const outcome = await Promise.race([done, timeout]);
      if (
        outcome.status === 'failed' &&
        /timed out/i.test(outcome.error) &&
        !outcome.error.startsWith('Generation timed out')
      ) {
        return {
          status: 'failed',
          error: `Generation timed out after ${limitS}s: ${outcome.error}`,
        };
      }
      return outcome;
    } finally {
      clearTimeout(timer);
    }
  }

  private cacheKey(request: GenerationRequest): string | undefined {
    if (!this.config.performance.cache_enabled || request.seed === undefined) return undefined;
    const identity = {
      prompt: request.prompt,
      style: request.style,
      resolution: request.resolution,
      model: this.config.generation.default_model,
      lora: request.lora ?? this.config.generation.default_lora ?? null,
      steps: request.steps,
      cfg: request.cfgScale,
      seed: request.seed,
      negative: request.negativePrompt ?? null,
      frames: request.animationFrames ?? null,
      grid: request.tilesetGrid ?? null,
    };
    return createHash('sha256').update(JSON.stringify(identity)).digest('hex');
  }

  private onWorkerProgress(record: JobRecord, update: ProgressUpdate): void {
    if (TERMINAL.has(record.view.status)) return;
    this.setStatus(record, 'running');
    const percent = Math.min(100, Math.max(0, update.percent));
    const total = update.totalSteps > 0 ? update.totalSteps : undefined;
    const step = total === undefined ? update.step : Math.min(update.step, total);
    const eta = update.etaS > 0 ? `, ETA ${Math.ceil(update.etaS)} s` : '';
    const message = `${update.stage}${total === undefined ? '' : ` step ${step}/${total}`}${eta}`;
    record.view.etaS = update.etaS > 0 ? update.etaS : undefined;
    this.progress(record, (percent * GENERATION_SHARE) / 100, update.stage, message);
  }

  /** Progress only moves forward (PROTOCOL.md "Observed behaviour" 7: worker progress is coarse). */
  private progress(record: JobRecord, percent: number, stage: string, message: string): void {
    const view = record.view;
    view.stage = stage;
    view.message = message;
    if (percent > view.percent) view.percent = Math.round(percent * 10) / 10;
    record.events.emit('progress', { ...view });
  }

  private setStatus(record: JobRecord, status: JobStatus): void {
    if (TERMINAL.has(record.view.status) || record.view.status === status) return;
    record.view.status = status;
    if (status === 'running' && record.view.stage === 'queued') record.view.stage = 'running';
  }

  private finish(record: JobRecord, status: JobStatus, err?: unknown): void {
    if (TERMINAL.has(record.view.status)) return;
    const view = record.view;
    view.status = status;
    if (status === 'completed') {
      view.percent = 100;
      view.stage = 'done';
      view.message = 'done';
    } else if (status === 'cancelled') {
      view.stage = 'cancelled';
      view.message = 'cancelled';
      view.error = 'Job was cancelled';
      view.errorCode = 'JOB_CANCELLED';
    } else {
      view.stage = 'failed';
      view.error =
        err instanceof Error || typeof err === 'string' ? errorMessage(err) : 'unknown failure';
      view.errorCode = isDaemonError(err) ? err.code : 'JOB_FAILED';
      view.message = view.error;
    }
    view.etaS = undefined;
    this.logger.info({ job_id: view.jobId, status, error: view.error }, 'job finished');
    record.events.emit('progress', { ...view });
    record.events.emit('done', { ...view });
    this.trimJobs();
  }

  /** Drop the oldest ended jobs beyond MAX_KEPT_JOBS: a daemon that runs for days stays small. */
  private trimJobs(): void {
    if (this.jobs.size <= MAX_KEPT_JOBS) return;
    for (const [id, r] of this.jobs) {
      if (this.jobs.size <= MAX_KEPT_JOBS) break;
      if (TERMINAL.has(r.view.status)) this.jobs.delete(id);
    }
  }

  /**
   * One job's current state. A job of an earlier run of the daemon (restart,
   * crash) is recovered from its files in the state dir when it had finished.
   * Throws DaemonError('JOB_NOT_FOUND').
   */
  getJob(jobId: string): JobView {
    const record = this.jobs.get(jobId);
    if (record === undefined) {
      const recovered = this.recoverFinished(jobId);
      if (recovered !== undefined) return recovered;
    }
    return { ...this.record(jobId).view };
  }

  /** A finished job of an earlier run, from `<state_dir>/sprites/<id>.png` and its raw output. */
  private recoverFinished(jobId: string): JobView | undefined {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(jobId))
      return undefined; // ids are UUIDs: no path tricks
    const outputPath = join(this.stateDir, 'sprites', `${jobId}.png`);
    const rawPath = join(this.stateDir, this.config.generation.output_dir, `${jobId}.raw.png`);
    if (!existsSync(outputPath)) return undefined;
    const size = pngSize(readFileSync(outputPath));
    return {
      jobId,
      status: 'completed',
      prompt: '',
      createdAt: statSync(outputPath).mtime.toISOString(),
      percent: 100,
      stage: 'done',
      message: 'recovered from an earlier run of the daemon',
      etaS: undefined,
      outputPath,
      rawPath: existsSync(rawPath) ? rawPath : undefined,
      width: size?.[0],
      height: size?.[1],
      kind: undefined,
      generationTimeS: undefined,
      workerName: undefined,
      cached: false,
      deployed: undefined,
      thumbnailPng: undefined,
      error: undefined,
      errorCode: undefined,
    };
  }

  private record(jobId: string): JobRecord {
    const record = this.jobs.get(jobId);
    if (record === undefined) {
      const known = [...this.jobs.keys()].slice(-5);
      throw new DaemonError(
        'JOB_NOT_FOUND',
        `no job with id "${jobId}"; ${known.length > 0 ? `recent ids: ${known.join(', ')}` : 'this daemon has run no jobs yet'}. Use list_jobs to see every job of this daemon.`,
      );
    }
    return record;
  }

  /**
   * Wait until the job ends or `timeoutMs` passes (then the still-running view is
   * returned; the job is not touched). An aborted `signal` stops only the wait.
   */
  async waitJob(jobId: string, timeoutMs: number, signal?: AbortSignal): Promise<JobView> {
    if (!this.jobs.has(jobId)) return this.getJob(jobId); // recovered (finished) or JOB_NOT_FOUND
    const record = this.record(jobId);
    if (TERMINAL.has(record.view.status)) return { ...record.view };
    await new Promise<void>((resolveWait) => {
      const timer = setTimeout(end, timeoutMs);
      function end() {
        clearTimeout(timer);
        record.events.off('done', end);
        signal?.removeEventListener('abort', end);
        resolveWait();
      }
      record.events.on('done', end);
      signal?.addEventListener('abort', end, { once: true });
    });
    return { ...record.view };
  }

  /** Subscribe to a job's progress (every change, terminal included); returns the unsubscribe. */
  onJobProgress(jobId: string, listener: (view: JobView) => void): () => void {
    const record = this.jobs.get(jobId);
    if (record === undefined) return () => undefined; // a recovered job does not change any more
    record.events.on('progress', listener);
    return () => record.events.off('progress', listener);
  }

  /** Cancel a job: the worker job too when it is still there. Already-ended jobs are returned as they are. */
  async cancelJob(jobId: string): Promise<JobView> {
    if (!this.jobs.has(jobId)) return this.getJob(jobId);
    const record = this.record(jobId);
    if (TERMINAL.has(record.view.status)) return { ...record.view };
    record.abort.abort();
    this.finish(record, 'cancelled');
    if (record.backendJobId !== undefined) {
      const generation = await this.ports.generation();
      await generation.cancel(record.backendJobId).catch((err: unknown) => {
        this.logger.warn({ job_id: jobId, err: errorMessage(err) }, 'worker cancel failed');
      });
    }
    return { ...record.view };
  }

  /** Jobs of this daemon, newest first. */
  listJobs(filter: { status?: JobStatus | undefined; limit: number }): JobView[] {
    return [...this.jobs.values()]
      .map((r) => r.view)
      .filter((v) => filter.status === undefined || v.status === filter.status)
      .reverse()
      .slice(0, filter.limit)
      .map((v) => ({ ...v }));
  }

  /**
   * Deploy a PNG into a Bevy assets folder (atomic, manifest updated under a lock)
   * and announce it to `onDeployed` listeners. Throws DaemonError (PATH_*, BAD_IMAGE,
   * DEPLOY_FAILED).
   */
  async deploy(input: {
    spritePath: string;
    png?: Buffer | undefined;
    assetsDir?: string | undefined;
    name: string;
    updateManifest: boolean;
    request?: GenerationRequest | undefined;
    sheet?: ProcessedSpriteView['sheet'];
  }): Promise<DeployResult> {
    const assets = await this.ports.assets();
    const assetsRoot = await assets.resolveRoot(input.assetsDir, this.cwd);
    const png = input.png ?? (await this.readSprite(input.spritePath));
    const size = pngSize(png);
    if (size === undefined) {
      throw new DaemonError(
        'BAD_IMAGE',
        `Sprite file ${input.spritePath} is not a PNG; pass the output_path a generate_sprite call returned`,
      );
    }
    const deployInput: DeployInput = {
      assetsRoot,
      name: input.name,
      png,
      width: size[0],
      height: size[1],
      updateManifest: input.updateManifest,
      stateDir: this.stateDir,
      request: input.request,
      sheet: input.sheet,
    };
    const result = await assets.deploy(deployInput);
    this.events.emit('deployed', result);
    return result;
  }

  private async readSprite(path: string): Promise<Buffer> {
    const abs = resolve(this.cwd, path);
    try {
      return await readFile(abs);
    } catch (err) {
      throw new DaemonError(
        'PATH_INVALID',
        `Sprite file not found: ${abs}; pass the output_path a generate_sprite call returned`,
        { cause: err },
      );
    }
  }

  /**
   * The assets root a request names (must lie inside deployment.bevy_assets_base
   * or allowed_roots), else the configured one. Throws PATH_INVALID / PATH_OUTSIDE_ASSETS.
   */
  async assetsRootFor(assetsDir: string | undefined): Promise<string> {
    return (await this.ports.assets()).resolveRoot(assetsDir, this.cwd);
  }

  /** Copy a finished sprite to `dest` (atomic); returns the absolute destination. */
  async copyOutput(src: string, dest: string): Promise<string> {
    this.checkWritable(dest, 'output_dir');
    return this.writeFile(dest, await readFile(src));
  }

  /**
   * Files a caller names are written only inside the working directory, the
   * state dir, the assets root or deployment.allowed_roots: a tool call must
   * not overwrite arbitrary files. Throws DaemonError('PATH_OUTSIDE_ASSETS').
   */
  checkWritable(path: string, field: string): string {
    const abs = resolve(this.cwd, path);
    const roots = [
      this.cwd,
      this.stateDir,
      this.defaultAssetsRoot,
      ...this.config.deployment.allowed_roots.map((r) => resolve(this.cwd, r)),
    ];
    const inside = roots.some(
      (root) =>
        root !== undefined &&
        (abs === root || abs.startsWith(root.endsWith(sep) ? root : root + sep)),
    );
    if (!inside) {
      throw new DaemonError(
        'PATH_OUTSIDE_ASSETS',
        `Validation error in ${field}: ${abs} is outside the project; write inside ${this.cwd}, the state dir or a deployment.allowed_roots entry, or leave ${field} out for the default.`,
      );
    }
    return abs;
  }

  /** Listen for deploys (resources/updated notifications); returns the unsubscribe. */
  onDeployed(listener: (result: DeployResult) => void): () => void {
    this.events.on('deployed', listener);
    return () => this.events.off('deployed', listener);
  }

  /** The manifest of an assets root (default: the configured one). */
  async readManifest(assetsDir?: string): Promise<unknown> {
    const assets = await this.ports.assets();
    return assets.readManifest(await assets.resolveRoot(assetsDir, this.cwd));
  }

  /** PNG bytes of a deployed sprite by manifest name. Throws DaemonError('PATH_INVALID') listing known names. */
  async readDeployedSprite(name: string): Promise<{ png: Buffer; path: string }> {
    const root = await this.assetsRootFor(undefined);
    const manifest = (await this.readManifest()) as { sprites?: { name: string; path: string }[] };
    const sprites = manifest.sprites ?? [];
    const entry = sprites.find((s) => s.name === name);
    if (entry === undefined) {
      throw new DaemonError(
        'PATH_INVALID',
        `sprite "${name}" is not in the manifest; known: ${sprites.map((s) => s.name).join(', ') || 'none yet'}`,
      );
    }
    const path = resolve(root, entry.path);
    return { png: await readFile(path), path };
  }

  async listModels(): Promise<unknown[]> {
    return (await this.ports.generation()).listModels();
  }

  /** Daemon state plus every worker's. */
  async status(): Promise<{ daemon: Record<string, unknown>; workers: unknown[] }> {
    const counts: Record<JobStatus, number> = {
      queued: 0,
      running: 0,
      completed: 0,
      failed: 0,
      cancelled: 0,
    };
    for (const r of this.jobs.values()) counts[r.view.status]++;
    const generation = await this.ports.generation();
    return {
      daemon: {
        version: this.config.mcp_server.version,
        pid: process.pid,
        uptime_s: Math.round((Date.now() - this.startedAt) / 1000),
        jobs: counts,
        state_dir: this.stateDir,
        assets_root: this.defaultAssetsRoot ?? null,
        cache_enabled: this.config.performance.cache_enabled,
      },
      workers: await generation.status(),
    };
  }

  async listStyles(): Promise<{ styles: unknown[]; palettes: unknown[] }> {
    const sprites = await this.ports.sprites();
    return { styles: await sprites.listStyles(), palettes: await sprites.listPalettes() };
  }

  private async checkPalette(palette: string): Promise<void> {
    const sprites = await this.ports.sprites();
    const names = (await sprites.listPalettes()).map((p) =>
      typeof p === 'string' ? p : (p as { name: string }).name,
    );
    if (!names.includes(palette)) {
      throw new DaemonError(
        'VALIDATION',
        `Validation error in palette: Palette must be one of: ${names.join(', ')}; got "${palette}". Call list_styles to see each palette's colours.`,
      );
    }
  }

  /**
   * Make the assets match the recipe file (default sprites.yaml beside the assets
   * folder): only changed entries are redone. Announces each rebuilt sprite to
   * `onDeployed` listeners.
   */
  async rebuild(input: {
    recipePath?: string | undefined;
    assetsDir?: string | undefined;
    dryRun: boolean;
    force: boolean;
  }): Promise<Record<string, unknown>> {
    const assets = await this.ports.assets();
    const assetsRoot = await assets.resolveRoot(input.assetsDir, this.cwd);
    const report = await assets.rebuild({
      ...input,
      recipePath: input.recipePath === undefined ? undefined : resolve(this.cwd, input.recipePath),
      assetsRoot,
      stateDir: this.stateDir,
    });
    const rebuilt = (report.rebuilt as string[] | undefined) ?? [];
    if (!input.dryRun) {
      for (const name of rebuilt) {
        this.events.emit('deployed', {
          name,
          assetsRoot,
          deployedPath: '',
          relativePath: '',
          manifestUpdated: true,
          changed: true,
          revision: undefined,
          manifestPath: '',
          entry: undefined,
        } satisfies DeployResult);
      }
    }
    return report;
  }

  private async writeFile(path: string, bytes: Buffer): Promise<string> {
    const abs = isAbsolute(path) ? path : resolve(this.cwd, path);
    await mkdir(dirname(abs), { recursive: true });
    const tmp = `${abs}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`;
    await writeFile(tmp, bytes);
    await rename(tmp, abs); // readers see the old file or the new one, never half
    return abs;
  }

  /** Cancel every unfinished job (worker jobs too) and release the worker connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const open = [...this.jobs.values()].filter((r) => !TERMINAL.has(r.view.status));
    await Promise.all(open.map((r) => this.cancelJob(r.view.jobId).catch(() => undefined)));
    await this.ports.close();
  }
}

/** [width, height] from a PNG's IHDR, or undefined when `buf` is not a PNG. No sharp needed. */
export function pngSize(buf: Buffer): [number, number] | undefined {
  if (
    buf.length < 24 ||
    buf.readUInt32BE(0) !== 0x89504e47 ||
    buf.toString('ascii', 12, 16) !== 'IHDR'
  ) {
    return undefined;
  }
  return [buf.readUInt32BE(16), buf.readUInt32BE(20)];
}
