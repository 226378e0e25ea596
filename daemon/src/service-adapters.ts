import { dirname, resolve } from 'node:path';
import type { Config } from './config/schema.js';
import { DaemonError } from './errors.js';
import type { Logger } from './log.js';
import type { GenerationRequest } from './service.js';
import type { AssetsPort, GenerationPort, SpritesPort } from './service-ports.js';
import type { SpriteOptions } from './sprites/index.js';

/**
 * Adapters from the service's ports onto the real backend/, sprites/ and
 * assets/ modules. Loaded only on first use (service-ports.ts `lazy`), so the
 * MCP server starts without sharp or zeromq in memory.
 */

/** Worker status younger than this is reused by get_status (the health monitor polls anyway). */
const STATUS_MAX_AGE_MS = 500;

/** The worker pool (backend/worker-pool.ts) behind the GenerationPort; jobs journalled under state_dir. */
export async function createGenerationPort(
  config: Config,
  logger: Logger,
): Promise<GenerationPort> {
  const { WorkerPool } = await import('./backend/worker-pool.js');
  const { JobStore } = await import('./backend/job-store.js');
  const pool = WorkerPool.fromConfig(config, { logger, store: JobStore.open(config.state_dir) });
  let lastStatus: { at: number; workers: Promise<Record<string, unknown>[]> } | undefined;
  return {
    async submit(params, opts) {
      const options: Parameters<typeof pool.submit>[1] = {};
      if (opts.signal !== undefined) options.signal = opts.signal;
      if (opts.onProgress !== undefined) options.onProgress = opts.onProgress;
      return pool.submit(params, options);
    },
    cancel: (jobId) => pool.cancel(jobId),
    status: async () => {
      // Coalesce: calls within STATUS_MAX_AGE_MS share one status round trip per worker.
      const now = Date.now();
      if (lastStatus === undefined || now - lastStatus.at > STATUS_MAX_AGE_MS) {
        lastStatus = { at: now, workers: pool.status().then((ws) => ws.map(workerStatus)) };
        lastStatus.workers.catch(() => {
          lastStatus = undefined;
        });
      }
      const at = lastStatus.at;
      return (await lastStatus.workers).map((w) => ({ ...w, checked_ms_ago: Date.now() - at }));
    },
    listModels: () => pool.listModels(),
    close: () => pool.close(),
  };
}

/** camelCase WorkerHealth → the snake_case get_status reports. */
function workerStatus(w: unknown): Record<string, unknown> {
  const h = w as Record<string, unknown>;
  return {
    name: h.name,
    req: h.req,
    pub: h.pub,
    reachable: h.reachable,
    version: h.version ?? null,
    queue_size: h.queueSize ?? null,
    active_jobs: h.activeJobs ?? null,
    uptime_s: h.uptimeS ?? null,
    in_flight: h.inFlight ?? 0,
    error: h.error ?? null,
  };
}

/** The request's post-processing options in the sprites module's terms. */
export function spriteOptions(request: GenerationRequest): SpriteOptions {
  const o: SpriteOptions = { style: request.style };
  if (request.size !== undefined) {
    o.logicalSize = request.size;
    o.canvas = request.size;
  }
  if (request.palette !== undefined) o.palette = request.palette;
  if (request.colors !== undefined) o.colours = request.colors;
  if (request.removeBackground !== undefined)
    o.background = request.removeBackground ? 'flood' : 'none';
  if (request.outline !== undefined) {
    o.outline =
      request.outline === true ? 'auto' : request.outline === false ? 'none' : request.outline;
  }
  return o;
}

export async function createSpritesPort(): Promise<SpritesPort> {
  const sprites = await import('./sprites/index.js');
  return {
    async process(raw, request) {
      const options = spriteOptions(request);
      const frames = request.animationFrames ?? 1;
      if (frames <= 1 && request.tilesetGrid === undefined) {
        const out = await sprites.processSprite(raw, options);
        return { png: out.png, width: out.width, height: out.height };
      }
      // A strip of N frames or a tileset: every cell processed alike, plus atlas metadata.
      const { canvas: _canvas, ...sheetOptions } = options;
      const layout = request.tilesetGrid !== undefined ? { grid: request.tilesetGrid } : { frames };
      const r = await sprites.processSheet(raw, layout, {
        ...sheetOptions,
        name: request.name?.split('/').pop() ?? 'sprite',
      });
      return {
        png: r.png,
        width: r.width,
        height: r.height,
        sheet: {
          kind: r.kind,
          grid: sprites.manifestGrid(r.grid),
          atlasJson: r.json,
        },
      };
    },
    async thumbnail(png, caps) {
      // Scale up by whole pixels (nearest neighbour keeps pixel art crisp) while it fits maxSize.
      const { default: sharp } = await import('sharp');
      const meta = await sharp(png).metadata();
      const longest = Math.max(meta.width ?? 1, meta.height ?? 1);
      const factor = Math.max(1, Math.floor(caps.maxSize / longest));
      const side = Math.min(caps.maxSize, longest * factor);
      const out = await sharp(png)
        .resize({ width: side, height: side, fit: 'inside', kernel: 'nearest' })
        .png({ compressionLevel: 9, palette: true })
        .toBuffer();
      return out.length <= caps.maxBytes ? out : undefined;
    },
    listStyles: async () => sprites.listStyles(),
    listPalettes: async () => sprites.listPalettes(),
  };
}

export async function createAssetsPort(config: Config): Promise<AssetsPort> {
  const assets = await import('./assets/index.js');
  const layout = {
    spriteSubdir: config.deployment.sprite_subdir,
    filenamePattern: config.deployment.filename_pattern,
    manifestFile: config.deployment.manifest_file,
  };
  return {
    resolveRoot: (requested, cwd) =>
      assets.resolveAssetsRoot({
        configured: config.deployment.bevy_assets_base,
        allowedRoots: config.deployment.allowed_roots,
        requested,
        cwd,
      }),
    async deploy(input) {
      const req = input.request;
      const source =
        req === undefined
          ? undefined
          : {
              prompt: req.prompt,
              style: req.style,
              ...(req.seed !== undefined ? { seed: req.seed } : {}),
              model: config.generation.default_model,
              ...(req.lora !== undefined ? { lora: req.lora } : {}),
              steps: req.steps,
              cfg_scale: req.cfgScale,
              postprocess: spriteOptions(req),
            };
      const result = await assets.deploySprite({
        assetsRoot: input.assetsRoot,
        name: input.name,
        png: input.png,
        kind: input.sheet?.kind ?? 'sprite',
        ...(input.sheet ? { grid: { ...input.sheet.grid }, atlasJson: input.sheet.atlasJson } : {}),
        width: input.width,
        height: input.height,
        updateManifest: input.updateManifest,
        stateDir: input.stateDir,
        layout,
        ...(source !== undefined ? { source } : {}),
      });
      return {
        deployedPath: result.deployedPath,
        relativePath: result.relativePath,
        manifestUpdated: result.manifestUpdated,
        changed: result.changed,
        revision: result.revision,
        name: input.name,
        assetsRoot: input.assetsRoot,
        manifestPath: resolve(input.assetsRoot, layout.manifestFile),
        entry: result.entry,
      };
    },
    async readManifest(assetsRoot) {
      // assetsRoot lets entries of the original server's {name, path, deployed_at} form be upgraded
      const { manifest } = await assets.readManifest(resolve(assetsRoot, layout.manifestFile), {
        assetsRoot,
      });
      return manifest;
    },
    async rebuild(input) {
      const [{ loadRecipes }, { rebuild }, { PIPELINE_VERSION }] = await Promise.all([
        import('./assets/recipes.js'),
        import('./assets/rebuild.js'),
        import('./sprites/index.js'),
      ]);
      const recipePath = resolve(
        input.recipePath ?? resolve(dirname(input.assetsRoot), 'sprites.yaml'),
      );
      const recipes = await loadRecipes(recipePath);
      const common = {
        recipes,
        assetsRoot: input.assetsRoot,
        stateDir: input.stateDir,
        layout,
        force: input.force,
      };
      let result: Awaited<ReturnType<typeof rebuild>>;
      if (input.dryRun) {
        const never = async (): Promise<never> => {
          throw new DaemonError('NOT_READY', 'a dry run generates nothing');
        };
        result = await rebuild({
          ...common,
          dryRun: true,
          generate: never,
          process: never,
          pipelineVersion: PIPELINE_VERSION,
        });
      } else {
        // The CLI's wiring of worker pool + pipeline (cli/rebuild.ts), shared so both behave alike.
        const { createRebuildWiring } = await import('./cli/rebuild.js');
        const wiring = await createRebuildWiring(config);
        try {
          result = await rebuild({
            ...common,
            generate: wiring.generate,
            process: wiring.process,
            pipelineVersion: wiring.pipelineVersion,
            concurrency: wiring.concurrency,
            model: config.generation.default_model,
          });
        } finally {
          await wiring.close();
        }
      }
      return {
        recipe_path: recipePath,
        assets_root: input.assetsRoot,
        dry_run: result.dryRun,
        rebuilt: result.rebuilt,
        skipped: result.skipped,
        failed: result.failed,
        generated: result.generated,
        from_cache: result.fromCache,
        reasons: result.reasons,
      };
    },
  };
}
