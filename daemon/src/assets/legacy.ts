import { readFile } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { isInside } from './paths.js';
import { readPngSize, sha256Hex } from './png-info.js';

/**
 * Manifests written by the original Python server hold only
 * `{name, path, deployed_at}` per sprite. Such an entry is upgraded in memory
 * from the PNG it points at (hash, size, kind "sprite", revision 1) and
 * written in the full form on the next deploy, so a project moving over from
 * the seed keeps its sprites.
 */

type Obj = Record<string, unknown>;

/** True for an entry in the original shape (name and path, none of our fields). */
export function isLegacyEntry(raw: unknown): raw is Obj & { name: string; path: string } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return false;
  const o = raw as Obj;
  return (
    typeof o.name === 'string' &&
    typeof o.path === 'string' &&
    o.kind === undefined &&
    o.hash === undefined &&
    o.revision === undefined
  );
}

/** The full entry for a legacy one, or undefined when its PNG is missing or outside `assetsRoot`. */
export async function upgradeLegacyEntry(
  raw: Obj & { name: string; path: string },
  assetsRoot: string,
): Promise<Obj | undefined> {
  const root = resolve(assetsRoot);
  const abs = isAbsolute(raw.path) ? raw.path : resolve(root, raw.path.replaceAll('\\', '/'));
  if (!isInside(root, abs)) return undefined;
  const bytes = await readFile(abs).catch(() => undefined);
  if (bytes === undefined) return undefined;
  let size: { width: number; height: number };
  try {
    size = readPngSize(bytes);
  } catch {
    return undefined;
  }
  return {
    ...raw,
    path: relative(root, abs).split(sep).join('/'),
    deployed_at:
      typeof raw.deployed_at === 'string' && raw.deployed_at !== ''
        ? raw.deployed_at
        : new Date().toISOString(),
    kind: 'sprite',
    width: size.width,
    height: size.height,
    hash: sha256Hex(bytes),
    revision: 1,
  };
}
