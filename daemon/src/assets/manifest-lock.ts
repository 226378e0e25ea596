import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
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

/** Create directory `path` with our owner file inside, atomically. False when it exists. */
function createWithOwner(path: string): boolean {
  const dir = staging(path, 'acquire');
  fs.mkdirSync(dir);
  try {
    fs.writeFileSync(
      join(dir, 'owner'),
      JSON.stringify({ pid: process.pid, host: HOST } satisfies Owner),
    );
    // rename onto an existing (non-empty) directory fails: that means "held".
    fs.renameSync(dir, path);
    return true;
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') return false;
    throw err;
  }
}

/** Remove directory `path` in one step (rename away, then delete). False when it was gone. */
function moveAway(path: string): boolean {
  const grave = staging(path, 'release');
  try {
    fs.renameSync(path, grave);
  } catch {
    return false;
  }
  fs.rmSync(grave, { recursive: true, force: true });
  return true;
}

/** Whether a lock proper-lockfile judged stale may really be removed. */
function mayBreak(owner: Owner | undefined): boolean {
  if (owner === undefined || owner.host !== HOST) return true; // no pid to ask: trust the mtime rule
  return owner.pid !== process.pid && processIsGone(owner.pid);
}

/**
 * Take a stale lock away, at most one process at a time: the breaker holds
 * `<lock>.break` and re-checks the lock it is about to remove, so two
 * processes that both saw the same dead lock cannot remove each other's
 * fresh one. A breaker left by a killed process is cleared when its owner is
 * gone or it is older than 5 s.
 */
function breakStaleLock(path: string): void {
  const breaker = `${path}.break`;
  if (!createWithOwner(breaker)) {
    const age =
      Date.now() - (fs.statSync(breaker, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
    const owner = readOwner(breaker);
    if ((owner !== undefined && owner.pid !== process.pid && mayBreak(owner)) || age > 5000)
      moveAway(breaker);
    return; // proper-lockfile retries the lock later
  }
  try {
    if (mayBreak(readOwner(path))) {
      // Keep the dead holder's intent beside the lock for whoever holds it next
      // (a file, not memory: this process may die before it gets the lock).
      try {
        fs.renameSync(join(path, INTENT_FILE), staging(`${path}.intent`, 'json'));
      } catch {
        // no intent: the dead holder had not started replacing files
      }
      moveAway(path);
    }
  } finally {
    moveAway(breaker);
  }
}

const INTENT_FILE = 'intent.json';
/**
 * Intents left by dead holders (see breakStaleLock), with their files. The
 * files are removed only after the holder's work succeeded, so a holder that
 * dies while rolling forward leaves them to the next one (rolling forward is
 * idempotent).
 */
function readIntents(lockPath: string): { items: unknown[]; files: string[] } {
  const dir = dirname(lockPath);
  const prefix = `${basename(lockPath)}.intent.`;
  const items: unknown[] = [];
  const files: string[] = [];
  for (const name of fs.readdirSync(dir)) {
    if (!name.startsWith(prefix) || !name.endsWith('.json')) continue;
    files.push(join(dir, name));
    try {
      const list = JSON.parse(fs.readFileSync(join(dir, name), 'utf8')) as unknown;
      if (Array.isArray(list)) items.push(...list);
    } catch {
      // a torn intent file describes nothing reliable
    }
  }
  return { items, files };
}

/**
 * Errors that waiting cannot cure (read-only or full disk, no permission): the lock fails at once
 * with them, instead of proper-lockfile retrying every error for waitMs (over a minute on a busy
 * machine) and then blaming another deploy. Listeners by lock path while withManifestLock waits.
 */
const FATAL_CODES = new Set(['EROFS', 'ENOSPC', 'EDQUOT', 'EACCES', 'EPERM', 'ENOTDIR']);
const onFatal = new Map<string, (err: NodeJS.ErrnoException) => void>();

/** A stable object: proper-lockfile caches the mtime precision on it. */
const lockFs = {
  ...fs,
  mkdir(path: string, callback: Callback): void {
    if (!isOurs(path)) return void fs.mkdir(path, callback);
    let err: NodeJS.ErrnoException | null = null;
    try {
      if (!createWithOwner(path))
        err = Object.assign(new Error(`${path} exists`), { code: 'EEXIST' });
    } catch (e) {
      err = e as NodeJS.ErrnoException;
      if (FATAL_CODES.has(err.code ?? '')) onFatal.get(path)?.(err);
    }
    process.nextTick(callback, err);
  },
  rmdir(path: string, callback: Callback): void {
    if (!isOurs(path)) return void fs.rmdir(path, callback);
    let err: NodeJS.ErrnoException | null = null;
    try {
      // Our own lock: release. Anyone else's: proper-lockfile found it stale.
      if (readOwner(path)?.pid === process.pid) moveAway(path);
      else breakStaleLock(path);
    } catch (e) {
      err = e as NodeJS.ErrnoException;
    }
    process.nextTick(callback, err);
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

/** What a lock holder can do besides holding. */
export interface LockHandle {
  /**
   * Record what this holder is about to make true (e.g. the manifest entries
   * whose PNGs it is replacing). If it dies holding the lock, the process
   * that takes the lock over gets these back from `takeRecovered`.
   */
  recordIntent(items: unknown[]): Promise<void>;
  /** Intents left by dead holders (by whoever took their lock over); each returned once. */
  takeRecovered(): unknown[];
}

/**
 * Run `fn` while holding the cross-process lock of `manifestPath`. Throws
 * DaemonError('BUSY') when the lock stays taken for `waitMs`.
 */
export async function withManifestLock<T>(
  manifestPath: string,
  fn: (lock: LockHandle) => Promise<T>,
  options: LockOptions = {},
): Promise<T> {
  const lockPath = `${manifestPath}.lock`;
  const waitMs = options.waitMs ?? 30_000;
  let compromised: Error | undefined;
  let release: () => Promise<void>;
  let giveUp: (err: NodeJS.ErrnoException) => void = () => undefined;
  const fatal = new Promise<never>((_, reject) => {
    giveUp = reject;
  });
  onFatal.set(lockPath, giveUp);
  let locking: Promise<() => Promise<void>> | undefined;
  try {
    locking = lockfile.lock(manifestPath, {
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
    release = await Promise.race([locking, fatal]);
  } catch (err) {
    // proper-lockfile may still be retrying: a lock it takes later is released at once
    locking?.then((r) => r().catch(() => undefined)).catch(() => undefined);
    if (FATAL_CODES.has((err as NodeJS.ErrnoException).code ?? '')) {
      throw new DaemonError(
        'DEPLOY_FAILED',
        `cannot lock ${manifestPath}: ${errorMessage(err)}; the assets folder is not writable (read-only, full, or no permission): fix that, then retry`,
        { cause: err },
      );
    }
    throw new DaemonError(
      'BUSY',
      `could not lock ${manifestPath} within ${waitMs} ms (${errorMessage(err)}); another deploy holds ${lockPath}. ` +
        'Retry; if no dgx-pixels process is running, remove that folder',
      { cause: err },
    );
  } finally {
    onFatal.delete(lockPath);
  }
  const consumed: string[] = [];
  try {
    const handle: LockHandle = {
      recordIntent: (items) => writeFile(join(lockPath, INTENT_FILE), JSON.stringify(items)),
      takeRecovered: () => {
        const { items, files } = readIntents(lockPath);
        consumed.push(...files);
        return items;
      },
    };
    const result = await fn(handle);
    for (const file of consumed) fs.rmSync(file, { force: true });
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
