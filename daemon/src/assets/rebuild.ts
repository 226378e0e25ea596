import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DaemonError, errorMessage } from '../errors.js';
import { DEFAULT_LAYOUT, type DeployLayout, deploySprite, spriteRelativePath } from './deploy.js';
import { findEntry, readManifest } from './manifest.js';
import type { AssetKind, FrameGrid, ManifestEntry } from './manifest-schema.js';
import { sha256Hex } from './png-info.js';
import { RawCache } from './raw-cache.js';
import type { ProcessSettings, RecipeGeneration, ResolvedRecipe } from './recipes.js';

/**
 * Make the assets match the recipes, doing the least work: a recipe whose
 * hash and pipeline version match its manifest entry (and whose PNG is
 * intact) is skipped; a changed one is reprocessed from the raw-output cache
 * when its generation parameters are cached, and generated only otherwise.
 * The GPU and the pipeline are injected, so this runs without either.
 */

/** What `process` returns for one recipe. */
export interface ProcessedAsset {
  png: Buffer;
  width: number;
  height: number;
  kind: AssetKind;
  grid?: FrameGrid;
  atlasJson?: object;
  /** The effective settings used (recorded as source.postprocess). */
  settings: Record<string, unknown>;
  pipelineVersion: string;
}

export type RebuildState =
  | 'queued'
  | 'skipped'
  | 'generating'
  | 'cached'
  | 'processing'
  | 'deploying'
  | 'done'
  | 'failed';

export interface RebuildEvent {
  name: string;
  state: RebuildState;
  /** Why it is (re)built or skipped, or the error. */
  detail?: string;
}

export interface RebuildOptions {
  recipes: ResolvedRecipe[];
  assetsRoot: string;
  stateDir: string;
  /** Raw PNG from the GPU for these parameters. */
  generate: (params: RecipeGeneration, name: string) => Promise<Buffer>;
  /** Post-process a raw PNG. */
  process: (raw: Buffer, settings: ProcessSettings, name: string) => Promise<ProcessedAsset>;
  /** The current pipeline version; entries built with another are redone. */
  pipelineVersion: string;
  layout?: Partial<DeployLayout>;
  /** Redo every selected recipe. */
  force?: boolean;
  /** Only these names. */
  only?: readonly string[];
  /** Generate again (same seed) instead of using the raw cache; implies redo. */
  regenerate?: boolean;
  /** Report what would be done, generate and write nothing. */
  dryRun?: boolean;
  /** Jobs at once (default 4; one per worker is a good choice). */
  concurrency?: number;
  model?: string;
  onEvent?: (event: RebuildEvent) => void;
}

export interface RebuildResult {
  rebuilt: string[];
  skipped: string[];
  failed: { name: string; error: string }[];
  /** Calls to `generate` (GPU jobs). */
  generated: number;
  /** Recipes reprocessed from the raw cache without the GPU. */
  fromCache: number;
  /** Why each selected recipe was (or would be) redone. */
  reasons: Record<string, string>;
  dryRun: boolean;
}

async function whyRebuild(
  r: ResolvedRecipe,
  entry: ManifestEntry | undefined,
  opts: RebuildOptions,
  layout: DeployLayout,
): Promise<string | undefined> {
  if (opts.regenerate) return 'regenerate requested';
  if (opts.force) return 'forced';
  if (entry === undefined) return 'new';
  if (entry.source?.recipe_hash !== r.recipeHash) return 'recipe changed';
  if (entry.source?.pipeline_version !== opts.pipelineVersion) {
    return `pipeline ${entry.source?.pipeline_version ?? 'unknown'} → ${opts.pipelineVersion}`;
  }
  if (entry.path !== spriteRelativePath(r.name, layout)) return 'layout changed';
  const bytes = await readFile(resolve(opts.assetsRoot, entry.path)).catch(() => undefined);
  if (bytes === undefined) return 'file missing';
  if (sha256Hex(bytes) !== entry.hash) return 'file modified';
  return undefined;
}

async function pool<T>(
  items: T[],
  concurrency: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, lane));
}

/**
 * Rebuild what changed. Never throws for one recipe's failure (it is listed
 * in `failed`); throws only for a bad manifest or unknown `only` names.
 */
export async function rebuild(opts: RebuildOptions): Promise<RebuildResult> {
  if (!Array.isArray(opts.recipes) || typeof opts.generate !== 'function') {
    // Callers holding only config + a recipe path want runRebuild (cli/rebuild.ts), which wires the GPU.
    throw new DaemonError(
      'NOT_READY',
      'rebuild() needs loaded recipes and injected generate/process functions; call runRebuild({config, assetsRoot, stateDir, recipePath}) from daemon/src/cli/rebuild.ts instead',
    );
  }
  const layout = { ...DEFAULT_LAYOUT, ...opts.layout };
  const emit = (name: string, state: RebuildState, detail?: string) =>
    opts.onEvent?.({ name, state, ...(detail === undefined ? {} : { detail }) });
  const known = new Set(opts.recipes.map((r) => r.name));
  const unknown = (opts.only ?? []).filter((n) => !known.has(n));
  if (unknown.length > 0) {
    throw new DaemonError(
      'VALIDATION',
      `--only names not in the recipe file: ${unknown.join(', ')}; known: ${[...known].join(', ')}`,
    );
  }
  const selected = opts.only?.length
    ? opts.recipes.filter((r) => opts.only?.includes(r.name))
    : opts.recipes;
  const { manifest } = await readManifest(resolve(opts.assetsRoot, layout.manifestFile), {
    assetsRoot: opts.assetsRoot,
  });
  const cache = new RawCache(opts.stateDir);
  const result: RebuildResult = {
    rebuilt: [],
    skipped: [],
    failed: [],
    generated: 0,
    fromCache: 0,
    reasons: {},
    dryRun: opts.dryRun ?? false,
  };

  const todo: ResolvedRecipe[] = [];
  for (const r of selected) {
    const reason = await whyRebuild(r, findEntry(manifest, r.name), opts, layout);
    if (reason === undefined) {
      result.skipped.push(r.name);
      emit(r.name, 'skipped', 'up to date');
    } else {
      result.reasons[r.name] = reason;
      todo.push(r);
      emit(r.name, 'queued', reason);
    }
  }
  if (opts.dryRun) return result;

  await pool(todo, opts.concurrency ?? 4, async (r) => {
    try {
      let raw = opts.regenerate ? undefined : await cache.get(r.generationKey);
      if (raw === undefined) {
        emit(r.name, 'generating');
        result.generated++;
        raw = await opts.generate(r.generation, r.name);
        await cache.put(r.generationKey, raw);
      } else {
        result.fromCache++;
        emit(r.name, 'cached');
      }
      emit(r.name, 'processing');
      const out = await opts.process(raw, r.processing, r.name);
      emit(r.name, 'deploying');
      const g = r.generation;
      await deploySprite({
        assetsRoot: opts.assetsRoot,
        name: r.name,
        png: out.png,
        kind: out.kind,
        width: out.width,
        height: out.height,
        ...(out.grid ? { grid: out.grid } : {}),
        ...(out.atlasJson ? { atlasJson: out.atlasJson } : {}),
        layout,
        stateDir: opts.stateDir,
        source: {
          prompt: g.prompt,
          ...(g.style ? { style: g.style } : {}),
          seed: g.seed,
          ...((g.model ?? opts.model) ? { model: g.model ?? opts.model } : {}),
          ...(g.lora ? { lora: g.lora } : {}),
          ...(g.steps ? { steps: g.steps } : {}),
          ...(g.cfg_scale !== undefined ? { cfg_scale: g.cfg_scale } : {}),
          postprocess: out.settings,
          pipeline_version: out.pipelineVersion,
          recipe_hash: r.recipeHash,
        },
      });
      result.rebuilt.push(r.name);
      emit(r.name, 'done');
    } catch (err) {
      result.failed.push({ name: r.name, error: errorMessage(err) });
      emit(r.name, 'failed', errorMessage(err));
    }
  });
  return result;
}
