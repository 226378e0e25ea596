import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DaemonError, errorMessage } from '../errors.js';
import { DEFAULT_LAYOUT, type DeployLayout, deploySprite, spriteRelativePath } from './deploy.js';
import { findEntry, readManifest } from './manifest.js';
import type { AssetKind, FrameGrid, Manifest, ManifestEntry } from './manifest-schema.js';
import { assertInsideRoot } from './paths.js';
import { sha256Hex } from './png-info.js';
import { RawCache } from './raw-cache.js';
import {
  type ProcessSettings,
  type RecipeGeneration,
  type ResolvedRecipe,
  referenceWaves,
  stableStringify,
} from './recipes.js';

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
  /** Raw PNG from the GPU for these parameters (and the deployed sprites it references). */
  generate: (
    params: RecipeGeneration,
    name: string,
    references?: ReferenceInput[],
  ) => Promise<Buffer>;
  /** Post-process a raw PNG (to the first reference's size, palette and anchor when any). */
  process: (
    raw: Buffer,
    settings: ProcessSettings,
    name: string,
    references?: ReferenceInput[],
  ) => Promise<ProcessedAsset>;
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
  /** Recipes left as they are although they would be redone, and why (edited sprites). */
  kept: Record<string, string>;
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

/** A referenced sprite as a rebuild reads it: its deployed PNG and that PNG's hash. */
export interface ReferenceInput {
  name: string;
  png: Buffer;
  /** sha256 of the PNG: part of the dependant's recipe hash and raw-cache key. */
  hash: string;
}

/** One recipe's plan: why it is redone (undefined: up to date), or why it cannot be. */
interface Planned {
  recipe: ResolvedRecipe;
  references: ReferenceInput[];
  /** The recipe's hash with its references' PNG hashes: a changed reference marks it stale. */
  recipeHash: string;
  generationKey: string;
  reason?: string | undefined;
  /** Why a stale sprite is left as it is (an edit the recipe would undo). */
  kept?: string | undefined;
  error?: string | undefined;
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

async function plan(
  r: ResolvedRecipe,
  manifest: Manifest,
  opts: RebuildOptions,
  layout: DeployLayout,
  redone: ReadonlySet<string>,
): Promise<Planned> {
  const refs = r.generation.reference ?? [];
  const references: ReferenceInput[] = [];
  const pending: string[] = [];
  for (const name of refs) {
    const entry = findEntry(manifest, name);
    if (entry === undefined) {
      if (opts.dryRun && redone.has(name)) {
        pending.push(name);
        continue;
      }
      return {
        recipe: r,
        references,
        recipeHash: r.recipeHash,
        generationKey: r.generationKey,
        error: `reference "${name}" is not deployed${redone.has(name) ? ' (its rebuild failed)' : ''}; add a recipe for it to the file, deploy it first, or remove it from reference`,
      };
    }
    const path = await assertInsideRoot(opts.assetsRoot, entry.path);
    const png = await readFile(path).catch(() => undefined);
    if (png === undefined) {
      return {
        recipe: r,
        references,
        recipeHash: r.recipeHash,
        generationKey: r.generationKey,
        error: `reference "${name}": its file ${entry.path} is missing; rebuild or redeploy it`,
      };
    }
    references.push({ name, png, hash: sha256Hex(png) });
  }
  const refKey = stableStringify(references.map((x) => [x.name, x.hash]));
  const recipeHash = refs.length === 0 ? r.recipeHash : sha(`${r.recipeHash}|${refKey}`);
  const generationKey = refs.length === 0 ? r.generationKey : sha(`${r.generationKey}|${refKey}`);
  const planned = { recipe: r, references, recipeHash, generationKey };
  const entry = findEntry(manifest, r.name);
  const reason = await staleBecause(
    r,
    entry,
    references,
    recipeHash,
    opts,
    layout,
    pending,
    redone,
  );
  // an edit_sprite result: the recipe would undo the edit, so only a forced rebuild redoes it
  if (reason !== undefined && entry?.source?.edited === true && !opts.force && !opts.regenerate)
    return {
      ...planned,
      reason,
      kept: `edited with edit_sprite (revision ${entry.revision}) after it was built; it would be redone (${reason}) — force: true rebuilds it from the recipe`,
    };
  return { ...planned, reason };
}

/** Why a recipe must be redone (its references first, then whyRebuild), or undefined. */
async function staleBecause(
  r: ResolvedRecipe,
  entry: ManifestEntry | undefined,
  references: ReferenceInput[],
  recipeHash: string,
  opts: RebuildOptions,
  layout: DeployLayout,
  pending: readonly string[],
  redone: ReadonlySet<string>,
): Promise<string | undefined> {
  if (!opts.regenerate && !opts.force) {
    // a reference rebuilt in this run (dry run: about to be) makes this one stale
    const first = (r.generation.reference ?? []).find(
      (n) => pending.includes(n) || (opts.dryRun && redone.has(n)),
    );
    if (first !== undefined && entry !== undefined) return `reference ${first} is rebuilt first`;
    const old = entry?.source?.references as Record<string, string> | undefined;
    if (entry?.source?.recipe_hash !== recipeHash && old !== undefined) {
      const changed = references.find((x) => old[x.name] !== undefined && old[x.name] !== x.hash);
      if (changed !== undefined) return `reference ${changed.name} changed`;
    }
  }
  return whyRebuild({ ...r, recipeHash }, entry, opts, layout);
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
    kept: {},
    dryRun: opts.dryRun ?? false,
  };
  const manifestPath = resolve(opts.assetsRoot, layout.manifestFile);
  // referenced recipes first: each wave sees the sprites the waves before it deployed
  const waves = referenceWaves(selected);
  const redone = new Set<string>();
  for (const [w, wave] of waves.entries()) {
    const current =
      w === 0
        ? manifest
        : (await readManifest(manifestPath, { assetsRoot: opts.assetsRoot })).manifest;
    const todo: Planned[] = [];
    for (const r of wave) {
      const planned = await plan(r, current, opts, layout, redone);
      if (planned.error !== undefined) {
        result.failed.push({ name: r.name, error: planned.error });
        emit(r.name, 'failed', planned.error);
      } else if (planned.reason === undefined) {
        result.skipped.push(r.name);
        emit(r.name, 'skipped', 'up to date');
      } else if (planned.kept !== undefined) {
        result.skipped.push(r.name);
        result.kept[r.name] = planned.kept;
        emit(r.name, 'skipped', planned.kept);
      } else {
        result.reasons[r.name] = planned.reason;
        redone.add(r.name);
        todo.push(planned);
        emit(r.name, 'queued', planned.reason);
      }
    }
    if (opts.dryRun) continue;
    await pool(
      todo,
      opts.concurrency ?? 4,
      async ({ recipe: r, references, generationKey, recipeHash }) => {
        try {
          let raw = opts.regenerate ? undefined : await cache.get(generationKey);
          if (raw === undefined) {
            emit(r.name, 'generating');
            result.generated++;
            raw = await opts.generate(r.generation, r.name, references);
            await cache.put(generationKey, raw);
          } else {
            result.fromCache++;
            emit(r.name, 'cached');
          }
          emit(r.name, 'processing');
          const out = await opts.process(raw, r.processing, r.name, references);
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
              recipe_hash: recipeHash,
              ...(references.length > 0
                ? { references: Object.fromEntries(references.map((x) => [x.name, x.hash])) }
                : {}),
            },
          });
          result.rebuilt.push(r.name);
          emit(r.name, 'done');
        } catch (err) {
          redone.delete(r.name);
          result.failed.push({ name: r.name, error: errorMessage(err) });
          emit(r.name, 'failed', errorMessage(err));
        }
      },
    );
  }
  return result;
}
