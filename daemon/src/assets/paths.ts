import { lstat, readlink, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { DaemonError } from '../errors.js';
import { NAME_SEGMENT } from './manifest-check.js';

/**
 * The project jail: every file dgx-pixels writes lands inside the assets root.
 * Names are checked against strict rules first (each error names the rule and
 * the fix), then the resolved path is checked against `root + sep` and again
 * after realpath, so a symlink cannot lead a write outside the root.
 */

const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;
const MAX_DEPTH = 4;

function invalid(what: string, value: string, rule: string, fix: string): DaemonError {
  return new DaemonError(
    'PATH_INVALID',
    `${what} ${JSON.stringify(value)} rejected: ${rule}; ${fix}`,
  );
}

/**
 * Check one relative name (a sprite name, or a path made from config such as
 * `sprites/{sprite_name}.png`). `what` is the label used in messages.
 * Throws DaemonError('PATH_INVALID') naming the broken rule.
 */
export function assertSafeRelativeName(value: string, what = 'sprite name', strict = true): void {
  const example = 'e.g. "hero", "enemies/slime_2"';
  if (value.length === 0) throw invalid(what, value, 'it is empty', `give a name, ${example}`);
  if (value.includes('\0')) {
    throw invalid(what, value, 'it contains a NUL byte', 'remove the NUL character');
  }
  if (isAbsolute(value) || value.startsWith('/') || /^[A-Za-z]:/.test(value)) {
    throw invalid(
      what,
      value,
      'absolute paths are not allowed',
      `use a name relative to the assets root, ${example}`,
    );
  }
  if (value.includes('\\')) {
    throw invalid(what, value, 'backslashes are not allowed', 'separate folders with "/"');
  }
  const segments = value.split('/');
  if (segments.some((s) => s === '..')) {
    throw invalid(
      what,
      value,
      '".." segments are not allowed (they leave the assets root)',
      `use a plain name, ${example}`,
    );
  }
  if (segments.some((s) => s === '' || s === '.')) {
    throw invalid(
      what,
      value,
      'empty or "." segments are not allowed',
      'remove the extra "/" or "."',
    );
  }
  if (segments.length > MAX_DEPTH) {
    throw invalid(
      what,
      value,
      `at most ${MAX_DEPTH} folder levels are allowed`,
      'use a shallower name',
    );
  }
  for (const s of segments) {
    if (WINDOWS_RESERVED.test(s)) {
      throw invalid(
        what,
        value,
        `"${s}" is a reserved device name on Windows (CON, PRN, AUX, NUL, COM1-9, LPT1-9)`,
        'pick another name, e.g. add a suffix',
      );
    }
    if (s.endsWith('.') || s.endsWith(' ')) {
      throw invalid(
        what,
        value,
        'a segment may not end with "." or a space (Windows drops them)',
        'remove the trailing character',
      );
    }
    if (strict && !NAME_SEGMENT.test(s)) {
      throw invalid(
        what,
        value,
        `segment "${s.slice(0, 70)}" must start with a letter or digit and use only A-Z a-z 0-9 _ . - (at most 64 characters)`,
        `rename it, ${example}`,
      );
    }
  }
}

/** True when `child` is `root` or below it (both absolute, normalised). */
export function isInside(root: string, child: string): boolean {
  const rel = relative(root, child);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

async function deepestExisting(path: string): Promise<string> {
  let p = path;
  for (;;) {
    try {
      await lstat(p);
      return p;
    } catch {
      const up = dirname(p);
      if (up === p) return p;
      p = up;
    }
  }
}

/**
 * Join `rel` (already checked by assertSafeRelativeName) onto `root` and make
 * sure the result stays inside the root, also after resolving symlinks of the
 * parts that exist. Returns the absolute path. Throws PATH_OUTSIDE_ASSETS.
 */
export async function assertInsideRoot(root: string, rel: string): Promise<string> {
  const absRoot = resolve(root);
  const target = resolve(absRoot, rel);
  if (!isInside(absRoot, target)) {
    throw new DaemonError(
      'PATH_OUTSIDE_ASSETS',
      `path ${JSON.stringify(rel)} resolves to ${target}, outside the assets root ${absRoot}; use a name inside the root`,
    );
  }
  let realRoot: string;
  try {
    realRoot = await realpath(absRoot);
  } catch (err) {
    throw new DaemonError(
      'PATH_INVALID',
      `assets root ${absRoot} does not exist; create it, or point --assets / DGX_PIXELS_BEVY_ASSETS / deployment.bevy_assets_base at the Bevy project's assets folder`,
      { cause: err },
    );
  }
  const existing = await deepestExisting(target);
  // A dangling symlink has no realpath: judge it by where it points.
  const realExisting = await realpath(existing).catch(async () =>
    resolve(dirname(existing), await readlink(existing).catch(() => '.')),
  );
  if (!isInside(realRoot, realExisting)) {
    throw new DaemonError(
      'PATH_OUTSIDE_ASSETS',
      `path ${JSON.stringify(rel)} goes through a symlink (${existing} -> ${realExisting}) that leads outside the assets root ${realRoot}; ` +
        'remove the symlink or deploy under another name',
    );
  }
  return target;
}

export interface ResolveAssetsRootOptions {
  /** `deployment.bevy_assets_base` after config loading (env DGX_PIXELS_BEVY_ASSETS and --assets land here). */
  configured?: string | undefined;
  /** `deployment.allowed_roots`. */
  allowedRoots?: readonly string[];
  /** A request's `bevy_assets_dir`; must lie inside the configured base or an allowed root. */
  requested?: string | undefined;
  /** Base for relative paths (default process.cwd()). */
  cwd?: string;
}

/**
 * Decide the assets root for a deploy. Without a request directory it is the
 * configured base; with one, that directory must be inside the base or one of
 * `allowedRoots` (checked after realpath). Throws PATH_INVALID when nothing is
 * configured, PATH_OUTSIDE_ASSETS when the request points elsewhere.
 */
export async function resolveAssetsRoot(options: ResolveAssetsRootOptions): Promise<string> {
  const cwd = options.cwd ?? process.cwd();
  const configured = options.configured ? resolve(cwd, options.configured) : undefined;
  if (options.requested === undefined || options.requested === '') {
    if (configured === undefined) {
      throw new DaemonError(
        'PATH_INVALID',
        'no assets root configured; pass --assets DIR, set DGX_PIXELS_BEVY_ASSETS, or set deployment.bevy_assets_base in the config',
      );
    }
    return configured;
  }
  if (options.requested.includes('\0')) {
    throw new DaemonError('PATH_INVALID', 'bevy_assets_dir contains a NUL byte; remove it');
  }
  const requested = resolve(cwd, options.requested);
  const roots = [
    ...(configured ? [configured] : []),
    ...(options.allowedRoots ?? []).map((r) => resolve(cwd, r)),
  ];
  if (roots.length === 0) {
    throw new DaemonError(
      'PATH_OUTSIDE_ASSETS',
      `bevy_assets_dir ${requested} is not allowed: no allowed roots are configured; set deployment.bevy_assets_base or deployment.allowed_roots to include it`,
    );
  }
  const realRequested = await realpath(requested).catch(() => requested);
  for (const root of roots) {
    const realRoot = await realpath(root).catch(() => root);
    if (isInside(realRoot, realRequested) && isInside(root, requested)) return requested;
  }
  throw new DaemonError(
    'PATH_OUTSIDE_ASSETS',
    `bevy_assets_dir ${requested}${realRequested !== requested ? ` (really ${realRequested})` : ''} is outside the allowed roots (${roots.join(', ')}); ` +
      'use a folder inside them or add it to deployment.allowed_roots',
  );
}
