import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve, sep } from 'node:path';
import { DaemonError } from '../errors.js';
import type { ServiceContext } from './context.js';

/** Write `bytes` to `path` (relative to `cwd`) via a temp file + rename; returns the absolute path. */
export async function writeFileAtomic(cwd: string, path: string, bytes: Buffer): Promise<string> {
  const abs = isAbsolute(path) ? path : resolve(cwd, path);
  await mkdir(dirname(abs), { recursive: true });
  const tmp = `${abs}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`;
  await writeFile(tmp, bytes);
  await rename(tmp, abs); // readers see the old file or the new one, never half
  return abs;
}

/**
 * Files a caller names are written only inside the working directory, the
 * state dir, the assets root or deployment.allowed_roots: a tool call must
 * not overwrite arbitrary files. Throws DaemonError('PATH_OUTSIDE_ASSETS').
 */
export function checkWritable(ctx: ServiceContext, path: string, field: string): string {
  const abs = resolve(ctx.cwd, path);
  const roots = [
    ctx.cwd,
    ctx.stateDir,
    ctx.defaultAssetsRoot,
    ...ctx.config.deployment.allowed_roots.map((r) => resolve(ctx.cwd, r)),
  ];
  const inside = roots.some(
    (root) =>
      root !== undefined &&
      (abs === root || abs.startsWith(root.endsWith(sep) ? root : root + sep)),
  );
  if (!inside) {
    throw new DaemonError(
      'PATH_OUTSIDE_ASSETS',
      `Validation error in ${field}: ${abs} is outside the project; write inside ${ctx.cwd}, the state dir or a deployment.allowed_roots entry, or leave ${field} out for the default.`,
    );
  }
  return abs;
}

/** A sprite file a caller names. Throws DaemonError('PATH_INVALID') when it cannot be read. */
export async function readSprite(cwd: string, path: string): Promise<Buffer> {
  const abs = resolve(cwd, path);
  try {
    return await readFile(abs);
  } catch (err) {
    throw new DaemonError(
      'PATH_INVALID',
      `Sprite file not found: ${abs}; pass the output_path a generate_sprite call returned`,
      { cause: err },
    );
  }
}
