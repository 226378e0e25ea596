import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, onTestFinished } from 'vitest';

/**
 * A fresh directory under the OS temp dir, removed when the current test has finished (pass or
 * fail, after its afterEach hooks, so servers closed there no longer write into it). Call it in a
 * test or a beforeEach; `prefix` shows which test left a directory behind if removal ever fails.
 */
export function tempDir(prefix = 'dgx-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A fresh directory shared by the tests of the current file or describe block, removed after
 * the last of them. Call it at module or describe level (where afterAll can be registered, not
 * in a hook or a test), above the afterAll that closes what writes into it: after-hooks run in
 * reverse order, so the directory goes last. `keep` leaves it for a look afterwards.
 */
export function suiteTempDir(prefix = 'dgx-test-', options: { keep?: boolean } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (options.keep === true) process.stderr.write(`keeping ${dir}\n`);
  else afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A fresh directory owned by a helper object (a harness, a fake worker, a key fixture) rather
 * than by a test: `remove` deletes it, called from that object's close. Usable outside vitest
 * (benches).
 */
export function ownedTempDir(prefix = 'dgx-test-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
