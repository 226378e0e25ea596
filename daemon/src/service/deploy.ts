import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DaemonError } from '../errors.js';
import type { ServiceContext } from './context.js';
import { readSprite } from './files.js';
import { pngSize, type SpriteRequest } from './job-view.js';
import type { DeployResult, ProcessedSprite, RebuildReport } from './results.js';
import {
  deployPng,
  type RebuildProgress,
  readAssetsManifest,
  rebuildAssets as rebuildWith,
  resolveAssetsRoot,
} from './stages.js';

/** What SpriteService.deploy takes. */
export interface DeploySpriteInput {
  spritePath: string;
  png?: Buffer | undefined;
  assetsDir?: string | undefined;
  name: string;
  updateManifest: boolean;
  request?: SpriteRequest | undefined;
  sheet?: ProcessedSprite['sheet'];
}

/**
 * Deploy a PNG into a Bevy assets folder (atomic, manifest updated under a lock)
 * and emit 'deployed'. Throws DaemonError (PATH_*, BAD_IMAGE, DEPLOY_FAILED).
 */
export async function deploySprite(
  ctx: ServiceContext,
  input: DeploySpriteInput,
): Promise<DeployResult> {
  const assetsRoot = await resolveAssetsRoot(ctx.config, input.assetsDir, ctx.cwd);
  const png = input.png ?? (await readSprite(ctx.cwd, input.spritePath));
  const size = pngSize(png);
  if (size === undefined) {
    throw new DaemonError(
      'BAD_IMAGE',
      `Sprite file ${input.spritePath} is not a PNG; pass the output_path a generate_sprite call returned`,
    );
  }
  const result = await deployPng(ctx.config, {
    assetsRoot,
    name: input.name,
    png,
    width: size[0],
    height: size[1],
    updateManifest: input.updateManifest,
    stateDir: ctx.stateDir,
    request: input.request,
    sheet: input.sheet,
  });
  ctx.events.emit('deployed', result);
  return result;
}

/** The manifest of an assets root (default: the configured one). */
export async function readManifest(ctx: ServiceContext, assetsDir?: string) {
  return readAssetsManifest(ctx.config, await resolveAssetsRoot(ctx.config, assetsDir, ctx.cwd));
}

/** PNG bytes of a deployed sprite by manifest name. Throws DaemonError('PATH_INVALID') listing known names. */
export async function readDeployedSprite(
  ctx: ServiceContext,
  name: string,
): Promise<{ png: Buffer; path: string }> {
  const root = await resolveAssetsRoot(ctx.config, undefined, ctx.cwd);
  const sprites = (await readAssetsManifest(ctx.config, root)).sprites;
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

/**
 * Make the assets match the recipe file; emits 'deployed' for each rebuilt
 * sprite unless it is a dry run.
 */
export async function rebuildAssets(
  ctx: ServiceContext,
  input: {
    recipePath?: string | undefined;
    assetsDir?: string | undefined;
    dryRun: boolean;
    force: boolean;
    onProgress?: ((p: RebuildProgress) => void) | undefined;
  },
): Promise<RebuildReport> {
  const assetsRoot = await resolveAssetsRoot(ctx.config, input.assetsDir, ctx.cwd);
  const report = await rebuildWith(ctx.config, ctx.generation, ctx.sprites, {
    ...input,
    recipePath: input.recipePath === undefined ? undefined : resolve(ctx.cwd, input.recipePath),
    assetsRoot,
    stateDir: ctx.stateDir,
  });
  if (!input.dryRun) {
    for (const name of report.rebuilt) {
      ctx.events.emit('deployed', {
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
