import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from './ports.js';

/** The repository root and the built CLI (`npm run build` first; test:reliability does). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = join(ROOT, 'daemon/dist/cli.js');

/** A child process with its stderr collected and a way to wait for a line. */
export interface Proc {
  proc: ChildProcess;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first stderr line containing `needle`; rejects after `timeoutMs`, naming it. */
  waitForStderr(needle: string, timeoutMs: number): Promise<string>;
  /** SIGKILL (no clean-up runs) and wait for the exit. */
  kill9(): Promise<void>;
}

/** Spawn `node <CLI> args…` (stdin piped when `stdin` is true, else ignored). */
export function spawnCli(
  args: string[],
  options: {
    env?: Record<string, string>;
    stdin?: boolean;
    cwd?: string;
    uid?: number;
    gid?: number;
  } = {},
): Proc {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  const proc = spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? ROOT,
    stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    env: { ...process.env, DGX_PIXELS_LOGGING_LEVEL: 'warning', ...options.env },
    ...(options.uid === undefined ? {} : { uid: options.uid }),
    ...(options.gid === undefined ? {} : { gid: options.gid }),
  });
  let err = '';
  const waiters: { needle: string; resolve: (l: string) => void }[] = [];
  proc.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
    for (const w of waiters.splice(0)) {
      const line = err.split('\n').find((l) => l.includes(w.needle));
      if (line !== undefined) w.resolve(line);
      else waiters.push(w);
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    proc.on('exit', (code, signal) => r({ code, signal })),
  );
  return {
    proc,
    stderr: () => err,
    exited,
    waitForStderr(needle, timeoutMs) {
      const seen = err.split('\n').find((l) => l.includes(needle));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolveLine, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `dgx-pixels ${args.join(' ')} printed no "${needle}" within ${timeoutMs} ms; stderr: ${err.slice(-2000)}`,
              ),
            ),
          timeoutMs,
        );
        waiters.push({
          needle,
          resolve: (l) => {
            clearTimeout(timer);
            resolveLine(l);
          },
        });
      });
    },
    async kill9() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}

/** Two fixed loopback endpoints (REQ, PUB), so a killed worker can come back on the same ones. */
export async function fixedEndpoints(): Promise<{ req: string; pub: string }> {
  // two distinct ports: two freePort() calls in a row once returned the same one
  const [req, pub] = await freePorts(2);
  return { req: `tcp://127.0.0.1:${req}`, pub: `tcp://127.0.0.1:${pub}` };
}

/** Start `dgx-pixels worker` as a child on `endpoints`; resolves once it printed its ready line. */
export async function spawnWorker(
  endpoints: { req: string; pub: string },
  options: { stepMs?: number; slots?: number; outputDir: string },
): Promise<Proc> {
  const p = spawnCli([
    'worker',
    '--req',
    endpoints.req,
    '--pub',
    endpoints.pub,
    '--step-ms',
    String(options.stepMs ?? 50),
    '--slots',
    String(options.slots ?? 1),
    '--output-dir',
    options.outputDir,
  ]);
  await p.waitForStderr('dgx-pixels worker ready', 15_000);
  return p;
}
