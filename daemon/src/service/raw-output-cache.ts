import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The raw-output cache of generate_sprite: content-addressed PNGs under the state dir, aged by mtime. */
export interface RawOutputCache {
  /** Raw output for `key` when younger than `ttlS` (0 = no expiry). */
  get(key: string, ttlS: number): Promise<Buffer | undefined>;
  put(key: string, png: Buffer): Promise<void>;
}

/** One PNG per key in `dir`. */
export function rawOutputCache(dir: string): RawOutputCache {
  return {
    async get(key, ttlS) {
      const path = join(dir, `${key}.png`);
      try {
        const info = await stat(path);
        if (ttlS > 0 && Date.now() - info.mtimeMs > ttlS * 1000) return undefined;
        return await readFile(path);
      } catch {
        return undefined;
      }
    },
    async put(key, png) {
      await mkdir(dir, { recursive: true });
      const tmp = join(dir, `${key}.${process.pid}.tmp`);
      await writeFile(tmp, png);
      await rename(tmp, join(dir, `${key}.png`));
    },
  };
}
