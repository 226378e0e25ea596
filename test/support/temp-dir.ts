import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';

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
