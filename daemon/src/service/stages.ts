import { dirname, resolve } from 'node:path';
import type { Config } from '../config/schema.js';
import { DaemonError } from '../errors.js';
import type { SpriteOptions, SpriteProcessor } from '../sprites/index.js';
import type { GenerationBackend } from './generation-backend.js';
import type { SpriteRequest } from './job-view.js';
import type { DeployResult, ProcessedSprite, RebuildReport } from './results.js';

/**
 * The service's calls into sprites/ and assets/. Each module is imported on first
 * use, so the MCP server starts without sharp or chokidar in memory.
 */

/** The part of a request post-processing reads (generate_sprite's and process_sprite's). */
export type PostprocessRequest = Pick<
  SpriteRequest,
  | 'style'
  | 'size'
  | 'palette'
  | 'paletteColours'
  | 'colors'
  | 'removeBackground'
  | 'outline'
  | 'animationFrames'
  | 'tilesetGrid'
  | 'name'
>;

/** The request's post-processing options in the sprites module's terms. */
export function spriteOptions(request: PostprocessRequest): SpriteOptions {
  const o: SpriteOptions = { style: request.style };
  if (request.size !== undefined) {
    o.logicalSize = request.size;
    o.canvas = request.size;
  }
  if (request.paletteColours !== undefined) o.palette = request.paletteColours;
  else if (request.palette !== undefined) o.palette = request.palette;
  if (request.colors !== undefined) o.colours = request.colors;
  if (request.removeBackground !== undefined)
    o.background = request.removeBackground ? 'flood' : 'none';
  if (request.outline !== undefined) {
    o.outline =
      request.outline === true ? 'auto' : request.outline === false ? 'none' : request.outline;
  }
  return o;
}

/**
 * Start what a job's post-processing will need (the pool's next thread) while the job
 * generates; never waits and never fails the job (post-processing starts it anyway).
 */
export function warmSprites(sprites: () => Promise<SpriteProcessor>): void {
  sprites().then(
    (p) => p.warm(),
    () => undefined,
  );
}

/**
 * Post-process a raw model output as `request` asks: one sprite, a strip of frames
 * or a tileset, on `processor` (the service's pool).
 */
export async function processSprite(
  processor: SpriteProcessor,
  raw: Buffer,
  request: PostprocessRequest,
): Promise<ProcessedSprite> {
  const sprites = await import('../sprites/index.js');
  const options = spriteOptions(request);
  const frames = request.animationFrames ?? 1;
  if (frames <= 1 && request.tilesetGrid === undefined) {
    const out = await processor.processSprite(raw, options);
    return {
      png: out.png,
      width: out.width,
      height: out.height,
      detected: out.detected,
      palette: out.palette,
    };
  }
  // A strip of N frames or a tileset: every cell processed alike, plus atlas metadata.
  const { canvas: _canvas, ...sheetOptions } = options;
  const layout = request.tilesetGrid !== undefined ? { grid: request.tilesetGrid } : { frames };
  const r = await processor.processSheet(raw, layout, {
    ...sheetOptions,
    name: request.name?.split('/').pop() ?? 'sprite',
  });
  return {
    png: r.png,
    width: r.width,
    height: r.height,
    sheet: { kind: r.kind, grid: sprites.manifestGrid(r.grid), atlasJson: r.json },
    detected: r.detected,
    palette: r.palette,
  };
}

/** An inline thumbnail scaled up by whole pixels (crisp), or undefined when over `maxBytes`. */
export async function thumbnail(
  png: Buffer,
  caps: { maxSize: number; maxBytes: number },
): Promise<Buffer | undefined> {
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
}

export async function listStyles() {
  return (await import('../sprites/index.js')).listStyles();
}

export async function listPalettes() {
  return (await import('../sprites/index.js')).listPalettes();
}

/** The deploy layout of `config` (deployment.*), through the one Deployer wiring. */
async function layoutOf(config: Config) {
  const { Deployer } = await import('../assets/configured-deployer.js');
  return Deployer.fromConfig(config).layout;
}

/** The request's assets dir checked against the jail, else the configured root. Throws PATH_*. */
export async function resolveAssetsRoot(
  config: Config,
  requested: string | undefined,
  cwd: string,
): Promise<string> {
  const { resolveAssetsRoot } = await import('../assets/paths.js');
  return resolveAssetsRoot({
    configured: config.deployment.bevy_assets_base,
    allowedRoots: config.deployment.allowed_roots,
    requested,
    cwd,
  });
}

export interface DeployInput {
  assetsRoot: string;
  name: string;
  png: Buffer;
  width: number;
  height: number;
  updateManifest: boolean;
  stateDir: string;
  request?: SpriteRequest | undefined;
  sheet?: ProcessedSprite['sheet'];
}

/** Deploy a PNG with the configured layout, recording where it came from. */
export async function deployPng(config: Config, input: DeployInput): Promise<DeployResult> {
  const [{ deploySprite }, layout] = await Promise.all([
    import('../assets/deploy.js'),
    layoutOf(config),
  ]);
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
          // "project" is recorded by name: the colours follow the game as it grows
          postprocess: {
            ...spriteOptions(req),
            ...(req.paletteColours !== undefined ? { palette: req.palette } : {}),
          },
          // an edit_sprite result: rebuild_sprites keeps it unless forced
          ...(req.conditioning?.composite !== undefined ? { edited: true } : {}),
        };
  const result = await deploySprite({
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
}

/** The manifest of an assets root; entries of the original server's format are upgraded. */
export async function readAssetsManifest(config: Config, assetsRoot: string) {
  const [{ readManifest }, layout] = await Promise.all([
    import('../assets/manifest.js'),
    layoutOf(config),
  ]);
  // assetsRoot lets entries of the original server's {name, path, deployed_at} form be upgraded
  const { manifest } = await readManifest(resolve(assetsRoot, layout.manifestFile), {
    assetsRoot,
  });
  return manifest;
}

/** Progress of a rebuild: recipes ended (done, failed or up to date) of all selected. */
export interface RebuildProgress {
  ended: number;
  total: number;
  name: string;
  state: string;
}

/**
 * Make the assets match the recipe file with the process's worker pool (`backend`,
 * loaded only when something must be generated).
 */
export async function rebuildAssets(
  config: Config,
  backend: () => Promise<GenerationBackend>,
  processor: () => Promise<SpriteProcessor>,
  input: {
    recipePath?: string | undefined;
    assetsRoot: string;
    stateDir: string;
    dryRun: boolean;
    force: boolean;
    onProgress?: ((p: RebuildProgress) => void) | undefined;
  },
): Promise<RebuildReport> {
  const [{ loadRecipes }, { rebuild }, { PIPELINE_VERSION }, layout] = await Promise.all([
    import('../assets/recipes.js'),
    import('../assets/rebuild.js'),
    import('../sprites/settings.js'),
    layoutOf(config),
  ]);
  const recipePath = resolve(
    input.recipePath ?? resolve(dirname(input.assetsRoot), 'sprites.yaml'),
  );
  const recipes = await loadRecipes(recipePath);
  let ended = 0;
  const onEvent = (e: { name: string; state: string }) => {
    if (e.state === 'done' || e.state === 'failed' || e.state === 'skipped') ended++;
    input.onProgress?.({ ended, total: recipes.length, name: e.name, state: e.state });
  };
  const common = {
    recipes,
    assetsRoot: input.assetsRoot,
    stateDir: input.stateDir,
    layout,
    force: input.force,
    onEvent,
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
    const { createRebuildWiring } = await import('./rebuild-wiring.js');
    const wiring = await createRebuildWiring(
      config,
      await backend(),
      await processor(),
      input.assetsRoot,
    );
    result = await rebuild({
      ...common,
      generate: wiring.generate,
      process: wiring.process,
      pipelineVersion: wiring.pipelineVersion,
      concurrency: wiring.concurrency,
      model: config.generation.default_model,
    });
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
    kept: result.kept,
  };
}
