import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import {
  type RunningWorker,
  startWorker,
  type WorkerOptions,
} from '../../../daemon/src/embedded-worker/index.js';
import { silentLogger } from '../../../daemon/src/log.js';
import { ownedTempDir } from '../../support/temp-dir.js';

export const CLI = resolve(import.meta.dirname, '../../../daemon/dist/cli.js');

export interface Daemon {
  client: Client;
  transport: StdioClientTransport;
  stderr: () => string;
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  close(): Promise<void>;
}

/** Spawn `node daemon/dist/cli.js serve` (the built daemon) and connect an SDK Client over stdio. */
export async function startDaemon(options: {
  dir: string;
  req: string;
  pub: string;
  env?: Record<string, string>;
  args?: string[];
}): Promise<Daemon> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [
      CLI,
      'serve',
      '--assets',
      join(options.dir, 'assets'),
      '--state-dir',
      join(options.dir, 'state'),
      ...(options.args ?? []),
    ],
    env: {
      PATH: process.env.PATH ?? '',
      DGX_PIXELS_ZMQ_ENDPOINT: options.req,
      DGX_PIXELS_ZMQ_PUB_ENDPOINT: options.pub,
      DGX_PIXELS_LOG_LEVEL: 'info',
      ...options.env,
    },
    cwd: options.dir,
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  const client = new Client({ name: 'e2e', version: '1.0.0' });
  await client.connect(transport);
  return {
    client,
    transport,
    stderr: () => stderr,
    call: async (name, args = {}) =>
      (await client.callTool({ name, arguments: args })) as CallToolResult,
    close: () => client.close(),
  };
}

export interface Stack {
  dir: string;
  worker: RunningWorker;
  daemon: Daemon;
  close(): Promise<void>;
}

/**
 * Embedded worker (procedural unless `worker` says otherwise, in this process) + the built
 * daemon as a child over stdio. `dir`: use that folder (a suite's, kept by its owner) instead
 * of a temp dir of the stack's own, removed on close.
 */
export async function startStack(
  options: {
    stepMs?: number;
    env?: Record<string, string>;
    dir?: string;
    worker?: WorkerOptions;
  } = {},
): Promise<Stack> {
  const owned = options.dir === undefined ? ownedTempDir('dgx-e2e-') : undefined;
  const dir = options.dir ?? (owned?.dir as string);
  await mkdir(join(dir, 'assets'));
  const worker = await startWorker({
    req: 'tcp://127.0.0.1:*',
    engine: 'procedural',
    stepMs: options.stepMs ?? 5,
    outputDir: join(dir, 'worker-out'),
    logger: silentLogger,
    ...options.worker,
  });
  const daemon = await startDaemon({
    dir,
    req: worker.reqEndpoint,
    pub: worker.pubEndpoint,
    ...(options.env ? { env: options.env } : {}),
  });
  return {
    dir,
    worker,
    daemon,
    async close() {
      await daemon.close().catch(() => undefined);
      await worker.close();
      owned?.remove();
    },
  };
}

/** Resolves when `predicate` holds; rejects after `ms` naming what did not happen. */
export async function until(
  predicate: () => boolean | Promise<boolean>,
  what: string,
  ms = 10_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
