import { appendFile, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/**
 * The deploy log: one JSON object per line in `<state_dir>/deploy-log.jsonl`,
 * appended after every deploy (changed or not). One write(2) per line with
 * O_APPEND, so lines from several processes do not interleave.
 */

export interface DeployLogLine {
  name: string;
  path: string;
  assets_root: string;
  hash: string;
  revision: number;
  changed: boolean;
  manifest_updated: boolean;
  duration_ms: number;
  job_id?: string;
}

const made = new Set<string>();

/** Path of the deploy log inside `stateDir`. */
export function deployLogPath(stateDir: string): string {
  return join(resolve(stateDir), 'deploy-log.jsonl');
}

/** Append one line (adds `ts` and `pid`). Never throws: the log must not fail a deploy. */
export async function appendDeployLog(stateDir: string, line: DeployLogLine): Promise<void> {
  const path = deployLogPath(stateDir);
  try {
    if (!made.has(path)) {
      await mkdir(resolve(stateDir), { recursive: true });
      made.add(path);
    }
    await appendFile(
      path,
      `${JSON.stringify({ ts: new Date().toISOString(), pid: process.pid, ...line })}\n`,
    );
  } catch {
    // A read-only state dir loses the log line, not the deploy.
  }
}
