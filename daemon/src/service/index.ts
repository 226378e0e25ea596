import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Config } from '../config/schema.js';
import { DaemonError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { SpritePool, SpriteProcessor } from '../sprites/index.js';
import { PendingJobs } from '../worker-client/pending-jobs.js';
import { type CharacterRequest, startCharacter } from './character.js';
import { withConditioning } from './conditioning.js';
import type { ServiceContext } from './context.js';
import {
  type DeploySpriteInput,
  deploySprite,
  readDeployedSprite,
  readManifest,
  rebuildAssets,
} from './deploy.js';
import { type EditRequest, startEdit } from './edit.js';
import { checkWritable, writeFileAtomic } from './files.js';
import { startGeneration } from './generation.js';
import {
  coalescedStatus,
  type GenerationBackend,
  openWorkerPool,
  type WorkerStatusView,
} from './generation-backend.js';
import { JobTable } from './job-table.js';
import { type JobStatus, type JobView, type SpriteRequest, TERMINAL } from './job-view.js';
import { type ProcessImageInput, type ProcessImageResult, processImage } from './process-image.js';
import { rawOutputCache } from './raw-output-cache.js';
import { recoverFinished, recoverFromJournal } from './recover-job.js';
import type { DeployResult, RebuildReport } from './results.js';
import { listPalettes, listStyles, type RebuildProgress, resolveAssetsRoot } from './stages.js';

export type { CharacterRequest } from './character.js';
export { DEFAULT_EDIT_STRENGTH, DEFAULT_INIT_STRENGTH, MAX_REFERENCES } from './conditioning.js';
export { type EditRequest, SHEET_EDIT_REFUSAL } from './edit.js';
export type { GenerationBackend, WorkerStatusView } from './generation-backend.js';
export {
  type CharacterInfo,
  type JobStatus,
  type JobView,
  pngSize,
  type SpriteRequest,
} from './job-view.js';
export type { ProcessImageInput, ProcessImageResult } from './process-image.js';
export type { DeployResult, ProcessedSprite, RebuildReport } from './results.js';
export type { RebuildProgress } from './stages.js';

/**
 * The one SpriteService that MCP tools and CLI commands both call. It turns a
 * typed generation request into a job (worker → post-process → optional deploy),
 * keeps job records (every running one, the newest 1 000 ended ones; older results
 * stay findable on disk through recover-job.ts) so no result is lost when a caller
 * stops waiting, and reports progress as one monotonic 0–100 scale.
 * Inputs are trusted: the MCP edge (mcp/fields.ts) validated them.
 *
 * This file is the facade and the single composition root: one WorkerPool and
 * one JobStore per process (generation-backend.ts), shared by generate, batch,
 * rebuild and deploy. The verbs live beside it: generation.ts (the job pipeline),
 * job-table.ts (status and progress), deploy.ts (deploy, manifest, rebuild),
 * stages.ts (the calls into sprites/ and assets/), files.ts (path policy, atomic
 * writes), recover-job.ts.
 */

/** The daemon half of get_status. */
export type DaemonStatus = {
  version: string;
  pid: number;
  uptime_s: number;
  jobs: Record<JobStatus, number>;
  state_dir: string;
  assets_root: string | null;
  cache_enabled: boolean;
};

export interface ServiceOptions {
  config: Config;
  logger: Logger;
  /** Replace the worker pool (tests of the MCP layer in isolation only). */
  generation?: () => Promise<GenerationBackend>;
  /** Base for relative paths (state_dir, output paths); default process.cwd(). */
  cwd?: string;
}

export class SpriteService {
  readonly config: Config;
  readonly startedAt = Date.now();
  private readonly logger: Logger;
  private readonly generation: () => Promise<GenerationBackend>;
  private loadedGeneration: GenerationBackend | undefined;
  private readonly sprites: () => Promise<SpriteProcessor>;
  private spritePool: SpritePool | undefined;
  private readonly workerStatus: () => Promise<WorkerStatusView[]>;
  private readonly cwd: string;
  private readonly jobs: JobTable;
  private readonly events = new EventEmitter();
  private readonly ctx: ServiceContext;
  private closed = false;

  constructor(options: ServiceOptions) {
    this.config = options.config;
    this.logger = options.logger;
    this.cwd = options.cwd ?? process.cwd();
    // the one count under max_pending_jobs: service jobs (JobTable) and the pool's own share it
    const pendingJobs = new PendingJobs(this.config.performance.max_pending_jobs);
    const open =
      options.generation ?? (() => openWorkerPool(this.config, this.logger, pendingJobs));
    let opening: Promise<GenerationBackend> | undefined;
    this.generation = () => {
      opening ??= open().then((g) => {
        this.loadedGeneration = g;
        return g;
      });
      return opening;
    };
    this.workerStatus = coalescedStatus(this.generation);
    this.sprites = async () => {
      const threads = this.config.performance.postprocess_threads;
      const sprites = await import('../sprites/index.js');
      if (threads === 0) return sprites.IN_THREAD;
      this.spritePool ??= new sprites.SpritePool({ threads });
      return this.spritePool;
    };
    this.jobs = new JobTable(this.logger, pendingJobs);
    this.events.setMaxListeners(0);
    const service = this;
    this.ctx = {
      config: this.config,
      logger: this.logger,
      generation: this.generation,
      sprites: this.sprites,
      cache: rawOutputCache(resolve(this.cwd, this.config.state_dir, 'cache', 'raw')),
      cwd: this.cwd,
      get stateDir() {
        return service.stateDir;
      },
      get defaultAssetsRoot() {
        return service.defaultAssetsRoot;
      },
      jobs: this.jobs,
      events: this.events,
    };
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
  async startGeneration(request: SpriteRequest): Promise<JobView> {
    if (this.closed)
      throw new DaemonError('NOT_READY', 'the daemon is shutting down; retry shortly');
    return startGeneration(this.ctx, request);
  }

  /**
   * Start a character-set job (generate_character) and return its id at once.
   * Throws DaemonError (BUSY, VALIDATION, EXTENSION_UNSUPPORTED when no worker
   * advertises `pose`, WORKER_UNREACHABLE).
   */
  async startCharacter(request: CharacterRequest): Promise<JobView> {
    if (this.closed)
      throw new DaemonError('NOT_READY', 'the daemon is shutting down; retry shortly');
    return startCharacter(this.ctx, request);
  }

  /**
   * A request's `reference` / `init_image` read (through the jail) and turned into its
   * conditioning once, e.g. for every prompt of a batch. Requests without them come back
   * as they are. Throws DaemonError('VALIDATION') naming every bad field.
   */
  async withConditioning(request: SpriteRequest): Promise<SpriteRequest> {
    return withConditioning(this.ctx, request);
  }

  /**
   * Start an edit of an existing sprite (edit_sprite, `dgx-pixels edit`): repaint the
   * masked region, keep every other pixel byte for byte; returns the job at once.
   * Throws DaemonError (VALIDATION naming every bad argument, BUSY, WORKER_UNREACHABLE).
   */
  async startEdit(request: EditRequest): Promise<JobView> {
    if (this.closed)
      throw new DaemonError('NOT_READY', 'the daemon is shutting down; retry shortly');
    return startEdit(this.ctx, request);
  }

  /**
   * One job's current state. A job of an earlier run of the daemon (restart,
   * crash) is found in its files in the state dir, else in the job journal (the
   * worker's result is recovered when it finished while the daemon was down).
   * Throws DaemonError('JOB_NOT_FOUND').
   */
  async getJob(jobId: string): Promise<JobView> {
    if (!this.jobs.has(jobId)) {
      const recovered =
        recoverFinished(this.stateDir, this.config, jobId) ??
        (await this.fromJournal(jobId).catch(() => undefined));
      if (recovered !== undefined) return recovered;
    }
    return { ...this.jobs.require(jobId).view };
  }

  /** A job of this run of the daemon (it started it). Throws DaemonError('JOB_NOT_FOUND'). */
  currentJob(jobId: string): JobView {
    return { ...this.jobs.require(jobId).view };
  }

  /** A job of an earlier run from the worker pool's journal, after its recovery finished. */
  private async fromJournal(jobId: string): Promise<JobView | undefined> {
    if (!/^[0-9a-f-]{36}$/.test(jobId) || !this.hasJournal()) return undefined;
    const generation = await this.generation();
    await generation.recovered;
    const record = generation.job(jobId);
    return record === undefined ? undefined : recoverFromJournal(record);
  }

  /** Whether an earlier run left a job journal (no worker pool is opened for nothing). */
  private hasJournal(): boolean {
    return this.loadedGeneration !== undefined || existsSync(join(this.stateDir, 'jobs.jsonl'));
  }

  /**
   * Wait until the job ends or `timeoutMs` passes (then the still-running view is
   * returned; the job is not touched). An aborted `signal` stops only the wait.
   */
  async waitJob(jobId: string, timeoutMs: number, signal?: AbortSignal): Promise<JobView> {
    if (!this.jobs.has(jobId)) return this.getJob(jobId); // recovered (finished) or JOB_NOT_FOUND
    const record = this.jobs.require(jobId);
    if (TERMINAL.has(record.view.status)) return { ...record.view };
    await this.jobs.wait(record, timeoutMs, signal);
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
    const record = this.jobs.require(jobId);
    if (TERMINAL.has(record.view.status)) return { ...record.view };
    record.abort.abort();
    this.jobs.finish(record, 'cancelled');
    if (record.submitted) {
      const generation = await this.generation();
      await generation.cancel(jobId).catch((err: unknown) => {
        this.logger.warn({ job_id: jobId, err: errorMessage(err) }, 'worker cancel failed');
      });
    }
    return { ...record.view };
  }

  /** Jobs of this daemon, newest first. */
  listJobs(filter: { status?: JobStatus | undefined; limit: number }): JobView[] {
    return this.jobs.list(filter);
  }

  /**
   * Deploy a PNG into a Bevy assets folder (atomic, manifest updated under a lock)
   * and announce it to `onDeployed` listeners. Throws DaemonError (PATH_*, BAD_IMAGE,
   * DEPLOY_FAILED).
   */
  async deploy(input: DeploySpriteInput): Promise<DeployResult> {
    return deploySprite(this.ctx, input);
  }

  /**
   * Post-process an existing image (a path) like a generation job's raw output,
   * optionally deploying it. Throws DaemonError (VALIDATION, PATH_*, BAD_IMAGE…).
   */
  async processImage(input: ProcessImageInput): Promise<ProcessImageResult> {
    if (this.closed)
      throw new DaemonError('NOT_READY', 'the daemon is shutting down; retry shortly');
    return processImage(this.ctx, input);
  }

  /**
   * The assets root a request names (must lie inside deployment.bevy_assets_base
   * or allowed_roots), else the configured one. Throws PATH_INVALID / PATH_OUTSIDE_ASSETS.
   */
  async assetsRootFor(assetsDir: string | undefined): Promise<string> {
    return resolveAssetsRoot(this.config, assetsDir, this.cwd);
  }

  /** Copy a finished sprite to `dest` (atomic); returns the absolute destination. */
  async copyOutput(src: string, dest: string): Promise<string> {
    this.checkWritable(dest, 'output_dir');
    return writeFileAtomic(this.cwd, dest, await readFile(src));
  }

  /**
   * Files a caller names are written only inside the working directory, the
   * state dir, the assets root or deployment.allowed_roots: a tool call must
   * not overwrite arbitrary files. Throws DaemonError('PATH_OUTSIDE_ASSETS').
   */
  checkWritable(path: string, field: string): string {
    return checkWritable(this.ctx, path, field);
  }

  /** Listen for deploys (resources/updated notifications); returns the unsubscribe. */
  onDeployed(listener: (result: DeployResult) => void): () => void {
    this.events.on('deployed', listener);
    return () => this.events.off('deployed', listener);
  }

  /** The manifest of an assets root (default: the configured one). */
  async readManifest(assetsDir?: string) {
    return readManifest(this.ctx, assetsDir);
  }

  /** PNG bytes of a deployed sprite by manifest name. Throws DaemonError('PATH_INVALID') listing known names. */
  async readDeployedSprite(name: string): Promise<{ png: Buffer; path: string }> {
    return readDeployedSprite(this.ctx, name);
  }

  async listModels() {
    return (await this.generation()).listModels();
  }

  /** Daemon state plus every worker's. */
  async status(): Promise<{ daemon: DaemonStatus; workers: WorkerStatusView[] }> {
    const counts = this.jobs.counts();
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
      workers: await this.workerStatus(),
    };
  }

  async listStyles() {
    return { styles: await listStyles(), palettes: await listPalettes() };
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
    onProgress?: ((p: RebuildProgress) => void) | undefined;
  }): Promise<RebuildReport> {
    return rebuildAssets(this.ctx, input);
  }

  /** Cancel every unfinished job (worker jobs too) and release the worker connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const open = this.jobs.unfinished();
    await Promise.all(open.map((r) => this.cancelJob(r.view.jobId).catch(() => undefined)));
    await this.loadedGeneration?.close();
    await this.spritePool?.close();
  }
}
