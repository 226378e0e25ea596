import { open, readFile, stat, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DaemonError, errorMessage } from '../errors.js';
import { findEntry, parseManifest, replaceManifestEntry, serializeManifest } from './manifest.js';
import { emptyManifest, isManifestEntry } from './manifest-check.js';
import { type LockOptions, withManifestLock } from './manifest-lock.js';
import type { Manifest, ManifestEntry } from './manifest-schema.js';
import { sha256Hex } from './png-info.js';
import { commitTempFile, writeTempFile } from './write-atomic.js';

/**
 * One manifest file, seen from this process. Changes go through `commit`,
 * which queues them: every op queued while a write is under way runs in the
 * next batch under ONE cross-process lock and ONE manifest write (group
 * commit). The parsed manifest is cached and reused while the file's
 * identity (device, inode, size, mtime, ctime) is the one this process last
 * saw; every writer replaces the file by rename, so any foreign write shows.
 */

/** Given to an op: call `intend(entry)` before replacing the files `entry` describes. */
export interface OpContext {
  intend(entry: ManifestEntry): Promise<void>;
}

/** An op sees the current manifest (mutable) and says whether it changed it. */
export type ManifestOp<R> = (
  manifest: Manifest,
  ctx: OpContext,
) => Promise<{ result: R; dirty: boolean }>;

interface Pending {
  op: ManifestOp<unknown>;
  repair: boolean;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

export interface ManifestStoreOptions {
  /** Directory for temp files (same filesystem as the manifest). */
  tmpDir: string;
  /** The assets root, to upgrade entries of the original Python server's manifest. */
  assetsRoot?: string;
  lock?: LockOptions;
}

type Identity = string;

async function identityOf(path: string): Promise<Identity | undefined> {
  try {
    const s = await stat(path, { bigint: true });
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch {
    return undefined;
  }
}

export class ManifestStore {
  private cached: { identity: Identity; manifest: Manifest } | undefined;
  private queue: Pending[] = [];
  private flushing = false;

  constructor(
    readonly manifestPath: string,
    private readonly options: ManifestStoreOptions,
  ) {}

  /**
   * The current manifest without taking the lock (for dry runs and the
   * "nothing changed" fast path). Do not mutate the result.
   */
  async peek(): Promise<Manifest> {
    return this.load(false);
  }

  /**
   * Queue `op`; it runs under the lock in the next batch. Resolves with its
   * result. `repair`: a broken manifest is backed up and its valid entries
   * kept, instead of failing the op.
   */
  commit<R>(op: ManifestOp<R>, repair = false): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ op, repair, resolve: resolve as (v: unknown) => void, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0);
        const outcomes: ({ ok: true; value: unknown } | { ok: false; err: unknown })[] = [];
        try {
          await withManifestLock(
            this.manifestPath,
            async (lock) => {
              const manifest = await this.load(batch.some((p) => p.repair));
              let dirty = await this.rollForward(manifest, lock.takeRecovered());
              // Written into the lock dir before files are replaced: if this
              // process dies between a PNG rename and the manifest rename, the
              // next holder finishes the job (rollForward).
              const intents: ManifestEntry[] = [];
              const ctx: OpContext = {
                intend: async (entry) => {
                  intents.push(entry);
                  await lock.recordIntent(intents);
                },
              };
              for (const p of batch) {
                try {
                  const r = await p.op(manifest, ctx);
                  dirty ||= r.dirty;
                  outcomes.push({ ok: true, value: r.result });
                } catch (err) {
                  outcomes.push({ ok: false, err });
                }
              }
              if (dirty) await this.write(manifest);
            },
            this.options.lock,
          );
        } catch (err) {
          this.cached = undefined;
          for (const p of batch) p.reject(err);
          continue;
        }
        batch.forEach((p, i) => {
          const o = outcomes[i];
          if (o?.ok) p.resolve(o.value);
          else p.reject(o?.err);
        });
      }
    } finally {
      this.flushing = false;
    }
  }

  /**
   * Finish deploys of a holder that died between replacing a PNG and writing
   * the manifest: an intended entry whose file on disk now has the intended
   * hash is put into the manifest. Returns whether anything changed.
   */
  private async rollForward(manifest: Manifest, items: unknown[]): Promise<boolean> {
    const root = this.options.assetsRoot;
    if (root === undefined) return false;
    let dirty = false;
    for (const item of items) {
      if (!isManifestEntry(item)) continue;
      const existing = findEntry(manifest, item.name);
      if (existing?.hash === item.hash) continue;
      const bytes = await readFile(resolve(root, item.path)).catch(() => undefined);
      if (bytes === undefined || sha256Hex(bytes) !== item.hash) continue;
      replaceManifestEntry(manifest, {
        ...item,
        revision: existing ? Math.max(existing.revision + 1, item.revision) : item.revision,
      });
      dirty = true;
    }
    return dirty;
  }

  private async load(repair: boolean): Promise<Manifest> {
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(this.manifestPath, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.cached = undefined;
      return emptyManifest();
    }
    try {
      // fstat and read the same open file, so identity and content agree.
      const s = await handle.stat({ bigint: true });
      const identity = `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
      if (this.cached?.identity === identity) return this.cached.manifest;
      const text = await handle.readFile('utf8');
      let manifest: Manifest;
      try {
        manifest = (await parseManifest(text, this.manifestPath, false, this.options.assetsRoot))
          .manifest;
      } catch (err) {
        if (!repair) throw err;
        const backupPath = `${this.manifestPath}.broken-${new Date().toISOString().replace(/[:.]/g, '-')}`;
        await writeFile(backupPath, text);
        manifest = (await parseManifest(text, this.manifestPath, true, this.options.assetsRoot))
          .manifest;
        // Not cached: the repaired content differs from the file until written.
        return manifest;
      }
      this.cached = { identity, manifest };
      return manifest;
    } finally {
      await handle.close();
    }
  }

  private async write(manifest: Manifest): Promise<void> {
    manifest.updated_at = new Date().toISOString();
    try {
      const tmp = await writeTempFile(
        this.options.tmpDir,
        serializeManifest(manifest),
        this.manifestPath,
      );
      await commitTempFile(tmp, this.manifestPath);
    } catch (err) {
      this.cached = undefined;
      throw new DaemonError(
        'DEPLOY_FAILED',
        `writing manifest ${this.manifestPath} failed: ${errorMessage(err)}; check free space and permissions, then retry`,
        { cause: err },
      );
    }
    const identity = await identityOf(this.manifestPath);
    this.cached = identity === undefined ? undefined : { identity, manifest };
  }
}

const stores = new Map<string, ManifestStore>();

/** The process-wide store of `manifestPath` (one queue per file, shared by all callers). */
export function manifestStore(manifestPath: string, options: ManifestStoreOptions): ManifestStore {
  let store = stores.get(manifestPath);
  if (store === undefined) {
    store = new ManifestStore(manifestPath, options);
    stores.set(manifestPath, store);
  }
  return store;
}
