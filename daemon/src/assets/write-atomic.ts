import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

/**
 * Crash-safe file replacement: write a temp file, fsync it, rename it over
 * the target, fsync the directory. rename(2) within one filesystem is atomic,
 * so a reader (Bevy, the Rust watcher) sees the old file or the new one,
 * never half of one; a kill -9 at any instant leaves one of the two.
 *
 * Temp files live OUTSIDE the watched assets tree when possible: Bevy's
 * watcher ignores renames inside the tree that it saw start more than 300 ms
 * earlier, but treats a move-in from outside as a fresh file (notes §1.5).
 */

const TEMP_DIR_NAME = '.dgx-pixels-tmp';
/** Leftover temp files (from a killed process) older than this are removed. */
const STALE_TEMP_MS = 60 * 60 * 1000;

const chosen = new Map<string, Promise<string>>();

async function deviceOf(path: string): Promise<bigint | undefined> {
  try {
    return (await stat(path, { bigint: true })).dev;
  } catch {
    return undefined;
  }
}

async function usable(dir: string, dev: bigint): Promise<boolean> {
  try {
    await mkdir(dir, { recursive: true });
    return (await deviceOf(dir)) === dev;
  } catch {
    return false;
  }
}

/**
 * The directory for temp files of writes into `assetsRoot`: `<stateDir>/tmp`
 * or `<assetsRoot>/../.dgx-pixels-tmp` when on the same device (st_dev) as
 * the root, else `<assetsRoot>/.dgx-pixels-tmp` (inside the tree, still
 * atomic). Chosen once per root per process; old leftovers are removed.
 */
export function chooseTempDir(assetsRoot: string, stateDir?: string): Promise<string> {
  const key = `${resolve(assetsRoot)}\0${stateDir ?? ''}`;
  let found = chosen.get(key);
  if (found === undefined) {
    found = (async () => {
      const root = resolve(assetsRoot);
      const dev = await deviceOf(root);
      const candidates = [
        ...(stateDir ? [join(resolve(stateDir), 'tmp')] : []),
        join(dirname(root), TEMP_DIR_NAME),
      ];
      for (const dir of candidates) {
        if (dev !== undefined && (await usable(dir, dev))) {
          await removeStaleTemps(dir);
          return dir;
        }
      }
      const inside = join(root, TEMP_DIR_NAME);
      await mkdir(inside, { recursive: true });
      return inside;
    })();
    found.catch(() => chosen.delete(key));
    chosen.set(key, found);
  }
  return found;
}

async function removeStaleTemps(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const now = Date.now();
  for (const name of names) {
    if (!name.endsWith('.tmp')) continue;
    const p = join(dir, name);
    const s = await stat(p).catch(() => undefined);
    if (s && now - s.mtimeMs > STALE_TEMP_MS) await unlink(p).catch(() => undefined);
  }
}

/** fsync a directory so a rename inside it survives a power cut. */
export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Write `data` to a new temp file in `tmpDir` and fsync it. Returns its path;
 * the caller renames it with commitTempFile or removes it with discardTempFile.
 */
export async function writeTempFile(
  tmpDir: string,
  data: Uint8Array | string,
  hint: string,
): Promise<string> {
  const tmpPath = join(
    tmpDir,
    `${basename(hint)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`,
  );
  const handle = await open(tmpPath, 'wx');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => undefined);
    await unlink(tmpPath).catch(() => undefined);
    throw err;
  }
  await handle.close();
  return tmpPath;
}

/** Rename a temp file over `target` (same filesystem), then fsync the target's directory. */
export async function commitTempFile(
  tmpPath: string,
  target: string,
  syncDir = true,
): Promise<void> {
  try {
    await rename(tmpPath, target);
  } catch (err) {
    await unlink(tmpPath).catch(() => undefined);
    throw err;
  }
  if (syncDir) await fsyncDirectory(dirname(target));
}

/** Remove a temp file that will not be used. */
export async function discardTempFile(tmpPath: string): Promise<void> {
  await unlink(tmpPath).catch(() => undefined);
}

/** writeTempFile + commitTempFile in one call. */
export async function writeFileAtomic(
  target: string,
  data: Uint8Array | string,
  tmpDir: string,
): Promise<void> {
  const tmpPath = await writeTempFile(tmpDir, data, target);
  await commitTempFile(tmpPath, target);
}
