import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { DaemonError, errorMessage } from '../errors.js';

/**
 * The cross-process lock around a manifest read-modify-write (several
 * daemons, the CLI and a daemon may deploy into one project at once).
 *
 * proper-lockfile holds `<manifest>.lock` (a directory) and refreshes its
 * mtime; a lock not refreshed for `staleMs` is taken over. We hand it an `fs`
 * whose mkdir builds the lock directory elsewhere with an `owner` file (pid,
 * host) inside and renames it into place, so the lock and its owner appear in
 * one atomic step (and vanish in one: rmdir renames it away first). A lock
 * whose owner process is gone (kill -9) is then recognised at once instead of
 * after `staleMs`, so a restarted daemon does not stall on its predecessor.
 */

const HOST = hostname();
const DEFAULT_STALE_MS = 10_000;

interface Owner {
  pid: number;
  host: string;
}

function processIsGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function readOwner(lockDir: string): Owner | undefined {
  try {
    const owner = JSON.parse(fs.readFileSync(join(lockDir, 'owner'), 'utf8')) as Owner;
    return typeof owner.pid === 'number' && typeof owner.host === 'string' ? owner : undefined;
  } catch {
    return undefined;
  }
}

const isOurs = (path: string) => path.endsWith('.lock');
const staging = (path: string, what: string) =>
  `${path}.${process.pid}.${randomBytes(4).toString('hex')}.${what}`;

type Callback = (err: NodeJS.ErrnoException | null) => void;
type StatCallback = (err: NodeJS.ErrnoException | null, stats?: fs.Stats) => void;

/** A stable object: proper-lockfile caches the mtime precision on it. */
const lockFs = {
  ...fs,
  mkdir(path: string, callback: Callback): void {
    if (!isOurs(path)) return void fs.mkdir(path, callback);
    const dir = staging(path, 'acquire');
    const owner: Owner = { pid: process.pid, host: HOST };
    const giveUp = (err: NodeJS.ErrnoException) =>
      fs.rm(dir, { recursive: true, force: true }, () => callback(err));
    fs.mkdir(dir, (err) => {
      if (err) return callback(err);
      fs.writeFile(join(dir, 'owner'), JSON.stringify(owner), (err) => {
        if (err) return giveUp(err);
        // rename onto an existing (non-empty) lock fails: that is "held".
        fs.rename(dir, path, (err) => {
          if (!err) return callback(null);
          const held = err.code === 'ENOTEMPTY' || err.code === 'EEXIST';
          giveUp(held ? Object.assign(new Error(`${path} exists`), { code: 'EEXIST' }) : err);
        });
      });
    });
  },
  rmdir(path: string, callback: Callback): void {
    if (!isOurs(path)) return void fs.rmdir(path, callback);
    const grave = staging(path, 'release');
    fs.rename(path, grave, (err) => {
      if (err) return callback(err);
      const owner = readOwner(grave);
      if (owner && owner.pid !== process.pid && owner.host === HOST && !processIsGone(owner.pid)) {
        // Lost a race with another process taking over the same stale lock:
        // this one belongs to a live holder, so put it back.
        return void fs.rename(grave, path, () => callback(null));
      }
      fs.rm(grave, { recursive: true, force: true }, () => callback(null));
    });
  },
  /** proper-lockfile judges age by mtime; a lock of a dead owner on this host is reported ancient. */
  stat(path: string, callback: StatCallback): void {
    fs.stat(path, (err, stats) => {
      if (err || !isOurs(path)) return callback(err, stats);
      const owner = readOwner(path);
      if (owner && owner.host === HOST && owner.pid !== process.pid && processIsGone(owner.pid)) {
        stats.mtime = new Date(0);
      }
      callback(null, stats);
    });
  },
};

export interface LockOptions {
  /** A lock not refreshed for this long is taken over (default 10 000, minimum 2 000). */
  staleMs?: number;
  /** Give up after waiting this long for another holder (default 30 000). */
  waitMs?: number;
}

/**
 * Run `fn` while holding the cross-process lock of `manifestPath`. Throws
 * DaemonError('BUSY') when the lock stays taken for `waitMs`.
 */
export async function withManifestLock<T>(
  manifestPath: string,
  fn: () => Promise<T>,
  options: LockOptions = {},
): Promise<T> {
  const lockPath = `${manifestPath}.lock`;
  const waitMs = options.waitMs ?? 30_000;
  let compromised: Error | undefined;
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(manifestPath, {
      lockfilePath: lockPath,
      realpath: false,
      stale: options.staleMs ?? DEFAULT_STALE_MS,
      fs: lockFs,
      // Short, jittered polls: a deploy holds the lock for a few ms.
      retries: {
        retries: Math.ceil(waitMs / 10),
        factor: 1.2,
        minTimeout: 1,
        maxTimeout: 15,
        randomize: true,
      },
      onCompromised: (err) => {
        compromised = err;
      },
    });
  } catch (err) {
    throw new DaemonError(
      'BUSY',
      `could not lock ${manifestPath} within ${waitMs} ms (${errorMessage(err)}); another deploy holds ${lockPath}. ` +
        'Retry; if no dgx-pixels process is running, remove that folder',
      { cause: err },
    );
  }
  try {
    const result = await fn();
    if (compromised) {
      throw new DaemonError(
        'DEPLOY_FAILED',
        `lock on ${manifestPath} was lost: ${compromised.message}; retry`,
      );
    }
    return result;
  } finally {
    await release().catch(() => undefined);
  }
}
