import { copyFile, readFile } from 'node:fs/promises';
import type { z } from 'zod';
import { DaemonError, errorMessage } from '../errors.js';
import { isLegacyEntry, upgradeLegacyEntry } from './legacy.js';
import { emptyManifest, isManifestEntry, MANIFEST_VERSION } from './manifest-check.js';
import type { Manifest, ManifestEntry } from './manifest-schema.js';

/**
 * Reading, checking and (pure) updating of asset_manifest.json. A manifest
 * that is broken or not ours is never overwritten silently: reading it throws
 * MANIFEST_INVALID naming the file and entry; `repair` keeps a backup copy
 * and carries on with the entries that are valid.
 */

export interface ReadManifestOptions {
  /** Back the bad file up to `<file>.broken-<time>` and keep its valid entries (default false). */
  repair?: boolean;
  /** The assets root, to upgrade entries of the original {name, path, deployed_at} form. */
  assetsRoot?: string;
}

export interface ReadManifestResult {
  manifest: Manifest;
  /** Whether the file existed. */
  existed: boolean;
  /** Set when `repair` backed up a bad file; the problems found are listed. */
  repaired?: { backupPath: string; problems: string[] };
}

function describe(value: unknown): string {
  const json = JSON.stringify(value);
  if (json === undefined) return String(value);
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}

function issueText(issues: z.core.$ZodIssue[], value: unknown): string {
  return issues
    .map((i) => {
      const got = i.path.reduce<unknown>((v, k) => (v as Record<PropertyKey, unknown>)?.[k], value);
      const field = i.path.length > 0 ? i.path.join('.') : '(entry)';
      return `${field}: ${i.message}, got ${describe(got)}`;
    })
    .join('; ');
}

function label(raw: unknown, index: number): string {
  const name = (raw as { name?: unknown } | null)?.name;
  return `entry #${index}${typeof name === 'string' ? ` ("${name}")` : ''}`;
}

const REPAIR_HINT =
  'fix or remove it by hand, or deploy with repair (--repair), which keeps a backup copy and drops what is invalid';

/**
 * Parse manifest text. Returns the manifest and the problems found; throws
 * MANIFEST_INVALID (naming `file` and the entry) unless `lenient`, in which
 * case invalid entries are dropped and listed in `problems`.
 */
export async function parseManifest(
  text: string,
  file: string,
  lenient = false,
  assetsRoot?: string,
): Promise<{ manifest: Manifest; problems: string[] }> {
  const problems: string[] = [];
  const fail = (problem: string): never => {
    throw new DaemonError('MANIFEST_INVALID', `manifest ${file}: ${problem}; ${REPAIR_HINT}`);
  };
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    if (!lenient) fail(`is not valid JSON (${errorMessage(err)})`);
    return { manifest: emptyManifest(), problems: [`not valid JSON (${errorMessage(err)})`] };
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data) || !('sprites' in data)) {
    const problem = 'is not a dgx-pixels manifest (expected an object with a "sprites" array)';
    if (!lenient) fail(problem);
    return { manifest: emptyManifest(), problems: [problem] };
  }
  const doc = data as Record<string, unknown>;
  if (typeof doc.version === 'number' && doc.version > MANIFEST_VERSION) {
    // Never "repair" a newer file: that would destroy what a newer daemon wrote.
    throw new DaemonError(
      'MANIFEST_INVALID',
      `manifest ${file} has version ${doc.version}, newer than this dgx-pixels understands ` +
        `(${MANIFEST_VERSION}); upgrade dgx-pixels`,
    );
  }
  if (!Array.isArray(doc.sprites)) {
    const problem = `"sprites" must be an array, got ${describe(doc.sprites)}`;
    if (!lenient) fail(problem);
    problems.push(problem);
    doc.sprites = [];
  }
  const seen = new Set<string>();
  const sprites: ManifestEntry[] = [];
  const list = doc.sprites as unknown[];
  for (let index = 0; index < list.length; index++) {
    const given = list[index];
    let problem: string | undefined;
    // Entries of the original Python server are upgraded from their PNG (legacy.ts).
    const raw =
      assetsRoot !== undefined && isLegacyEntry(given)
        ? ((await upgradeLegacyEntry(given, assetsRoot)) ?? given)
        : given;
    if (!isManifestEntry(raw)) {
      // The fast check said no; zod (loaded only now) says why.
      const { ManifestEntrySchema } = await import('./manifest-schema.js');
      const parsed = ManifestEntrySchema.safeParse(raw);
      problem = `${label(raw, index)} is invalid${parsed.success ? '' : `: ${issueText(parsed.error.issues, raw)}`}`;
    } else if (seen.has(raw.name)) {
      problem = `${label(raw, index)} repeats the name "${raw.name}"`;
    } else {
      seen.add(raw.name);
      sprites.push(raw);
      continue;
    }
    if (!lenient) fail(problem);
    problems.push(problem);
  }
  const { version, updated_at } = doc;
  let problem: string | undefined;
  if (version !== undefined && version !== MANIFEST_VERSION) {
    problem = `top level is invalid: version must be ${MANIFEST_VERSION}, got ${describe(version)}`;
  } else if (updated_at !== undefined && (typeof updated_at !== 'string' || updated_at === '')) {
    problem = `top level is invalid: updated_at must be a non-empty string, got ${describe(updated_at)}`;
  }
  if (problem !== undefined) {
    if (!lenient) fail(problem);
    problems.push(problem);
    return { manifest: { ...emptyManifest(), sprites }, problems };
  }
  const manifest = {
    ...doc,
    version: MANIFEST_VERSION,
    updated_at: (updated_at as string | undefined) ?? new Date().toISOString(),
    sprites,
  } as Manifest;
  return { manifest, problems };
}

/**
 * Read and validate a manifest file. A missing file is an empty manifest.
 * Throws DaemonError('MANIFEST_INVALID') for a broken or foreign file unless
 * `repair` is set (then a backup is written first).
 */
export async function readManifest(
  path: string,
  options: ReadManifestOptions = {},
): Promise<ReadManifestResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      return { manifest: emptyManifest(), existed: false };
    }
    throw new DaemonError(
      'MANIFEST_INVALID',
      `cannot read manifest ${path}: ${errorMessage(err)}`,
      {
        cause: err,
      },
    );
  }
  try {
    return {
      manifest: (await parseManifest(text, path, false, options.assetsRoot)).manifest,
      existed: true,
    };
  } catch (err) {
    if (!options.repair) throw err;
  }
  const { manifest, problems } = await parseManifest(text, path, true, options.assetsRoot);
  const backupPath = `${path}.broken-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  await copyFile(path, backupPath);
  return { manifest, existed: true, repaired: { backupPath, problems } };
}

/** The manifest as written to disk: 2-space JSON and a final newline. */
export function serializeManifest(manifest: Manifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** The entry named `name`, if any. */
export function findEntry(manifest: Manifest, name: string): ManifestEntry | undefined {
  return manifest.sprites.find((e) => e.name === name);
}

/**
 * Put `entry` in place of the entry of the same name (keeping its position
 * and any fields this version does not know), or append it.
 */
export function replaceManifestEntry(manifest: Manifest, entry: ManifestEntry): void {
  const index = manifest.sprites.findIndex((e) => e.name === entry.name);
  if (index < 0) manifest.sprites.push(entry);
  else manifest.sprites[index] = { ...manifest.sprites[index], ...entry } as ManifestEntry;
}
