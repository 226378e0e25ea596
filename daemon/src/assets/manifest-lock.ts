import fs from 'node:fs';
import { stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import lockfile from 'proper-lockfile';
import { DaemonError, errorMessage } from '../errors.js';

/**
 * The cross-process lock around a manifest read-modify-write (several
 * daemons, the CLI and a daemon may deploy into one project at once).
 *
 * proper-lockfile holds `<manifest>.lock` (a directory, created with the
 * atomic mkdir) and refreshes its mtime; a lock whose mtime is older than
 * `staleMs` is taken over. On top of that, the holder writes its pid, host
 * and the lock directory's inode to `<manifest>.lock.owner`: a lock whose
 * owner process is gone (kill -9) is recognised at once instead of after
 * `staleMs`, so a restarted daemon does not stall on its predecessor's lock.
 */

const HOST = hostname();
const DEFAULT_STALE_MS = 10_000;

interface Owner {
  pid: number;
  host: string;
  ino: number;
}

function processIsGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function readOwner(path: string): Owner | undefined {
  try {
    const owner = JSON.parse(fs.readFileSync(path, 'utf8')) as Owner;
    return typeof owner.pid === 'number' && typeof owner.ino === 'number' ? owner : undefined;
  } catch {
    return undefined;
  }
}

type StatCallback = (err: NodeJS.ErrnoException | null, stats?: fs.Stats) => void;

/**
 * proper-lockfile reads the lock's age through `fs.stat`; when the owner file
 * names this exact lock directory (same inode) and a dead process on this
 * host, report the lock as ancient so proper-lockfile's own stale path takes
 * it over. A stable object: proper-lockfile caches mtime precision on it.
 */
const lockFs = {
  ...fs,
  stat(path: string, callback: StatCallback): void {
    fs.stat(path, (err, stats) => {
      if (err || !path.endsWith('.lock')) return callback(err, stats);
      const owner = readOwner(`${path}.owner`);
      if (
        owner !== undefined &&
        owner.ino === stats.ino &&
        owner.host === HOST &&
        owner.pid !== process.pid &&
        processIsGone(owner.pid)
      ) {
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
  const ownerPath = `${lockPath}.owner`;
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
    const { ino } = await stat(lockPath);
    await writeFile(
      ownerPath,
      JSON.stringify({ pid: process.pid, host: HOST, ino } satisfies Owner),
    );
    const result = await fn();
    if (compromised) {
      throw new DaemonError(
        'DEPLOY_FAILED',
        `lock on ${manifestPath} was lost: ${compromised.message}; retry`,
      );
    }
    return result;
  } finally {
    // Owner file first: a lock left without one falls back to the mtime rule.
    await unlink(ownerPath).catch(() => undefined);
    await release().catch(() => undefined);
  }
}
