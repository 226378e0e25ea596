/**
 * assets/: the project jail, the manifest (schema, lock, atomic replace),
 * deploy, recipe-driven rebuild and watch. Knows nothing of ZeroMQ or MCP.
 */

export { Deployer, type DeployerOptions } from './configured-deployer.js';
export {
  DEFAULT_LAYOUT,
  type DeployLayout,
  type DeployRequest,
  type DeployResult,
  deploySprite,
  spriteRelativePath,
} from './deploy.js';
export { deployLogPath } from './deploy-log.js';
export {
  findEntry,
  parseManifest,
  readManifest,
  replaceManifestEntry,
  serializeManifest,
} from './manifest.js';
export { emptyManifest, MANIFEST_VERSION } from './manifest-check.js';
export { type LockHandle, type LockOptions, withManifestLock } from './manifest-lock.js';
export {
  type AssetKind,
  type FrameGrid,
  type Manifest,
  type ManifestEntry,
  ManifestSchema,
  type SpriteSource,
} from './manifest-schema.js';
export { assertInsideRoot, assertSafeRelativeName, resolveAssetsRoot } from './paths.js';
export { readPngSize, sha256Hex } from './png-info.js';
// Rebuild, recipes and watch load zod/yaml/chokidar: import their modules directly
// (assets/rebuild.js, assets/recipes.js, assets/watch.js); only their types are here.
export type {
  ProcessedAsset,
  RebuildEvent,
  RebuildOptions,
  RebuildResult,
  RebuildState,
} from './rebuild.js';
export type { ProcessSettings, RecipeGeneration, ResolvedRecipe } from './recipes.js';
export type { RecipeWatcher, WatchRecipesOptions } from './watch.js';
