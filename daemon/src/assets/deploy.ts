import { mkdir, readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { DaemonError, isDaemonError } from '../errors.js';
import { appendDeployLog } from './deploy-log.js';
import { findEntry, replaceManifestEntry } from './manifest.js';
import { emptyManifest } from './manifest-check.js';
import type {
  AssetKind,
  FrameGrid,
  Manifest,
  ManifestEntry,
  SpriteSource,
} from './manifest-schema.js';
import { manifestStore } from './manifest-store.js';
import { assertInsideRoot, assertSafeRelativeName } from './paths.js';
import { assertDeployablePng, readPngSize, sha256Hex } from './png-info.js';
import { chooseTempDir, commitTempFile, discardTempFile, writeTempFile } from './write-atomic.js';

/** Where files go inside the assets root (config `deployment.*`). */
export interface DeployLayout {
  /** `deployment.sprite_subdir` (default "sprites"; "" for the root itself). */
  spriteSubdir: string;
  /** `deployment.filename_pattern` (default "{sprite_name}.png"). */
  filenamePattern: string;
  /** `deployment.manifest_file` (default "asset_manifest.json"). */
  manifestFile: string;
}

export const DEFAULT_LAYOUT: DeployLayout = {
  spriteSubdir: 'sprites',
  filenamePattern: '{sprite_name}.png',
  manifestFile: 'asset_manifest.json',
};

export interface DeployRequest {
  /** Absolute (or cwd-relative) assets root, already resolved with resolveAssetsRoot. */
  assetsRoot: string;
  name: string;
  png: Buffer;
  kind?: AssetKind;
  /** Read from the PNG header when left out. */
  width?: number;
  height?: number;
  grid?: FrameGrid;
  /** Sheet/tileset metadata, written as JSON beside the PNG. */
  atlasJson?: object;
  source?: SpriteSource;
  dryRun?: boolean;
  /** Update the manifest (default true); false writes only the PNG. */
  updateManifest?: boolean;
  layout?: Partial<DeployLayout>;
  /** State directory: deploy log, temp files. */
  stateDir?: string;
  /** Back up and drop invalid manifest content instead of failing (default false). */
  repair?: boolean;
}

export interface DeployResult {
  /** Absolute path of the PNG. */
  deployedPath: string;
  /** Path relative to the assets root, with "/". */
  relativePath: string;
  manifestUpdated: boolean;
  /** Whether the PNG content changed (false: same hash, nothing rewritten). */
  changed: boolean;
  revision: number;
  entry: ManifestEntry;
  dryRun: boolean;
}

/** The PNG path (relative, "/") of sprite `name` under `layout`. Throws PATH_INVALID. */
export function spriteRelativePath(name: string, layout: DeployLayout): string {
  assertSafeRelativeName(name, 'sprite name');
  if (
    !layout.filenamePattern.includes('{sprite_name}') ||
    !layout.filenamePattern.endsWith('.png')
  ) {
    throw new DaemonError(
      'CONFIG_INVALID',
      `deployment.filename_pattern ${JSON.stringify(layout.filenamePattern)} must contain {sprite_name} and end in .png, e.g. "{sprite_name}.png"`,
    );
  }
  const file = layout.filenamePattern.replaceAll('{sprite_name}', name);
  const rel = [...layout.spriteSubdir.split('/').filter((s) => s !== '' && s !== '.'), file].join(
    '/',
  );
  assertSafeRelativeName(rel, 'deploy path');
  return rel;
}

async function fileHashIs(path: string, hash: string): Promise<boolean> {
  try {
    return sha256Hex(await readFile(path)) === hash;
  } catch {
    return false;
  }
}

function sameMetadata(a: ManifestEntry, b: ManifestEntry): boolean {
  const { deployed_at: _a, ...restA } = a;
  const { deployed_at: _b, ...restB } = b;
  return isDeepStrictEqual(restA, restB);
}

interface Prepared {
  req: DeployRequest;
  root: string;
  rel: string;
  abs: string;
  atlasRel: string | undefined;
  atlasAbs: string | undefined;
  atlasText: string | undefined;
  hash: string;
  width: number;
  height: number;
  kind: AssetKind;
}

async function prepare(req: DeployRequest): Promise<Prepared> {
  const layout = { ...DEFAULT_LAYOUT, ...req.layout };
  const root = resolve(req.assetsRoot);
  const rel = spriteRelativePath(req.name, layout);
  const kind = req.kind ?? (req.grid ? 'sheet' : 'sprite');
  if (kind !== 'sprite' && req.grid === undefined) {
    throw new DaemonError(
      'VALIDATION',
      `deploying "${req.name}" as a ${kind} needs grid {columns, rows, frame_width, frame_height}; pass grid or use kind "sprite"`,
    );
  }
  const header = readPngSize(req.png, `png for "${req.name}"`);
  assertDeployablePng(req.png, `png for "${req.name}"`);
  const abs = await assertInsideRoot(root, rel);
  const atlasRel = req.atlasJson === undefined ? undefined : rel.replace(/\.png$/, '.json');
  const atlasAbs = atlasRel === undefined ? undefined : await assertInsideRoot(root, atlasRel);
  return {
    req,
    root,
    rel,
    abs,
    atlasRel,
    atlasAbs,
    atlasText:
      req.atlasJson === undefined ? undefined : `${JSON.stringify(req.atlasJson, null, 2)}\n`,
    hash: sha256Hex(req.png),
    width: req.width ?? header.width,
    height: req.height ?? header.height,
    kind,
  };
}

function buildEntry(p: Prepared, existing: ManifestEntry | undefined, now: string): ManifestEntry {
  const sameContent = existing !== undefined && existing.hash === p.hash;
  const { grid: _g, atlas: _a, source: _s, ...kept } = existing ?? ({} as Partial<ManifestEntry>);
  const entry = {
    ...kept,
    name: p.req.name,
    path: p.rel,
    deployed_at: sameContent && existing ? existing.deployed_at : now,
    kind: p.kind,
    width: p.width,
    height: p.height,
    hash: p.hash,
    revision: existing ? existing.revision + (sameContent ? 0 : 1) : 1,
    ...(p.req.grid ? { grid: p.req.grid } : {}),
    ...(p.atlasRel ? { atlas: p.atlasRel } : {}),
    ...(p.req.source
      ? { source: p.req.source }
      : existing?.source && sameContent
        ? { source: existing.source }
        : {}),
  } as ManifestEntry;
  return entry;
}

/** What the deploy would do to `manifest`, without touching disk. */
async function plan(p: Prepared, manifest: Manifest) {
  const existing = findEntry(manifest, p.req.name);
  const entry = buildEntry(p, existing, new Date().toISOString());
  const pngSame =
    existing?.hash === p.hash && existing.path === p.rel && (await fileHashIs(p.abs, p.hash));
  const atlasSame =
    p.atlasAbs === undefined ||
    p.atlasText === undefined ||
    (await fileHashIs(p.atlasAbs, sha256Hex(p.atlasText)));
  const entrySame = existing !== undefined && sameMetadata(existing, entry);
  return { existing, entry, pngSame, atlasSame, entrySame };
}

/**
 * Deploy one PNG (and its sheet JSON) into the assets root and record it in
 * the manifest. Order: PNG and JSON first, manifest last; every file is
 * replaced atomically (write-atomic.ts); the manifest update runs under the
 * cross-process lock, batched with other deploys of this process. Same bytes
 * again → nothing rewritten, same revision; new bytes → revision + 1.
 * Throws DaemonError PATH_INVALID / PATH_OUTSIDE_ASSETS / BAD_IMAGE /
 * MANIFEST_INVALID / BUSY / DEPLOY_FAILED.
 */
export async function deploySprite(req: DeployRequest): Promise<DeployResult> {
  const started = performance.now();
  const p = await prepare(req);
  const layout = { ...DEFAULT_LAYOUT, ...req.layout };
  assertSafeRelativeName(layout.manifestFile, 'deployment.manifest_file', false);
  const manifestPath = await assertInsideRoot(p.root, layout.manifestFile);
  const tmpDir = await chooseTempDir(p.root, req.stateDir);
  const store = manifestStore(manifestPath, { tmpDir, assetsRoot: p.root });
  const updateManifest = req.updateManifest ?? true;
  const result = (
    entry: ManifestEntry,
    changed: boolean,
    manifestUpdated: boolean,
    dryRun: boolean,
  ): DeployResult => ({
    deployedPath: p.abs,
    relativePath: p.rel,
    manifestUpdated,
    changed,
    revision: entry.revision,
    entry,
    dryRun,
  });

  // Lock-free look first: a dry run, or a re-deploy of identical bytes, ends here.
  const current = await store.peek().catch((err: unknown) => {
    // With repair, plan against nothing; the commit backs the file up and fixes it.
    if (req.repair && isDaemonError(err, 'MANIFEST_INVALID')) return emptyManifest();
    throw err;
  });
  const peeked = await plan(p, current);
  if (req.dryRun) {
    const changed = !peeked.pngSame || !peeked.atlasSame;
    return result(peeked.entry, changed, updateManifest && !peeked.entrySame, true);
  }
  if (peeked.pngSame && peeked.atlasSame && (peeked.entrySame || !updateManifest)) {
    const out = result(peeked.existing ?? peeked.entry, false, false, false);
    await log(req, out, started);
    return out;
  }

  await mkdir(dirname(p.abs), { recursive: true });
  // Re-check after mkdir: a symlinked folder created meanwhile must not lead outside.
  await assertInsideRoot(p.root, p.rel);
  // The slow part (write + fsync) happens before the lock; the rename under it.
  let pngTmp = peeked.pngSame ? undefined : await writeTempFile(tmpDir, req.png, p.abs);
  let atlasTmp =
    peeked.atlasSame || p.atlasText === undefined
      ? undefined
      : await writeTempFile(tmpDir, p.atlasText, p.abs);

  // A commit that never ran its op (lock refused: disk full, read-only) leaves the temps to us.
  const out = await store
    .commit(async (manifest, ctx) => {
      const now = await plan(p, manifest);
      // The lock-free look may have found the file already right, and another deploy (this
      // batch, or another process) replaced it since: then write it now, under the lock, or
      // the manifest would name bytes that are not on disk.
      if (pngTmp === undefined && !now.pngSame)
        pngTmp = await writeTempFile(tmpDir, req.png, p.abs);
      if (atlasTmp === undefined && !now.atlasSame && p.atlasText !== undefined)
        atlasTmp = await writeTempFile(tmpDir, p.atlasText, p.abs);
      if (updateManifest && !now.entrySame && (!now.pngSame || !now.atlasSame))
        await ctx.intend(now.entry);
      if (pngTmp !== undefined && !now.pngSame) await commitTempFile(pngTmp, p.abs);
      else if (pngTmp !== undefined) await discardTempFile(pngTmp);
      if (atlasTmp !== undefined && p.atlasAbs !== undefined && !now.atlasSame)
        await commitTempFile(atlasTmp, p.atlasAbs);
      else if (atlasTmp !== undefined) await discardTempFile(atlasTmp);
      const changed = !now.pngSame || !now.atlasSame;
      const dirty = updateManifest && !now.entrySame;
      if (dirty) replaceManifestEntry(manifest, now.entry);
      return {
        result: result(dirty ? now.entry : (now.existing ?? now.entry), changed, dirty, false),
        dirty,
      };
    }, req.repair ?? false)
    .catch(async (err: unknown) => {
      if (pngTmp !== undefined) await discardTempFile(pngTmp);
      if (atlasTmp !== undefined) await discardTempFile(atlasTmp);
      throw err;
    });
  await log(req, out, started);
  return out;
}

async function log(req: DeployRequest, out: DeployResult, startedMs: number): Promise<void> {
  if (req.stateDir === undefined) return;
  await appendDeployLog(req.stateDir, {
    name: out.entry.name,
    path: out.relativePath,
    assets_root: resolve(req.assetsRoot),
    hash: out.entry.hash,
    revision: out.revision,
    changed: out.changed,
    manifest_updated: out.manifestUpdated,
    duration_ms: Math.round((performance.now() - startedMs) * 100) / 100,
    ...(req.source?.job_id ? { job_id: req.source.job_id } : {}),
  });
}
