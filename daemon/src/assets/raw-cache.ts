import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from './write-atomic.js';

/**
 * Content-addressed cache of raw worker outputs in `<state_dir>/raw-cache/`,
 * keyed by the hash of the generation parameters (seed included). A recipe
 * whose palette or outline changed is reprocessed from here without the GPU.
 */
export class RawCache {
  readonly dir: string;

  constructor(stateDir: string) {
    this.dir = join(resolve(stateDir), 'raw-cache');
  }

  private pathOf(key: string): string {
    return join(this.dir, key.slice(0, 2), `${key}.png`);
  }

  /** The cached bytes for `key`, or undefined. */
  async get(key: string): Promise<Buffer | undefined> {
    return readFile(this.pathOf(key)).catch(() => undefined);
  }

  /** Store `png` under `key` (atomic: a reader never gets half a file). */
  async put(key: string, png: Buffer): Promise<void> {
    const path = this.pathOf(key);
    const dir = join(this.dir, key.slice(0, 2));
    await mkdir(dir, { recursive: true });
    await writeFileAtomic(path, png, dir);
  }
}
