import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { type Config, type ConfigInput, ConfigSchema } from '../../daemon/src/config/schema.js';
import { type RunningWorker, startWorker } from '../../daemon/src/embedded-worker/index.js';
import { silentLogger } from '../../daemon/src/log.js';
import { createMcpServer } from '../../daemon/src/mcp/server.js';
import { SpriteService } from '../../daemon/src/service/index.js';
import { ownedTempDir } from './temp-dir.js';

/**
 * The whole daemon in this process, nothing faked: `workers` embedded workers
 * (procedural engine, real ZeroMQ on 127.0.0.1), a SpriteService with the real
 * ports (WorkerPool + JobStore journal, sprites on sharp, assets deploy) and an
 * MCP SDK Client linked to the McpServer in memory.
 */
export interface Stack {
  client: Client;
  service: SpriteService;
  config: Config;
  workers: RunningWorker[];
  dir: string;
  assets: string;
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  /** Close client, service (cancels open jobs) and the workers this stack started; remove the dir. */
  close(): Promise<void>;
}

export interface StackOptions {
  /** Embedded workers to start (default 1); ignored when `endpoints` is given. */
  workers?: number;
  /** Use these running workers instead of starting some. */
  endpoints?: { req: string; pub: string }[];
  /** Procedural step time, ms (default 0). */
  stepMs?: number;
  slots?: number;
  maxQueue?: number;
  /** Extra config (merged over the stack's defaults, sections shallowly). */
  config?: (dir: string) => ConfigInput;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const { dir, remove } = ownedTempDir('dgx-rel-');
  const assets = join(dir, 'assets');
  await mkdir(assets);
  const workers: RunningWorker[] = [];
  if (options.endpoints === undefined) {
    for (let i = 0; i < (options.workers ?? 1); i++) {
      workers.push(
        await startWorker({
          req: 'tcp://127.0.0.1:*',
          pub: 'tcp://127.0.0.1:*',
          stepMs: options.stepMs ?? 0,
          slots: options.slots ?? 1,
          outputDir: join(dir, `worker-${i}`),
          ...(options.maxQueue === undefined ? {} : { maxQueue: options.maxQueue }),
        }),
      );
    }
  }
  const endpoints =
    options.endpoints ?? workers.map((w) => ({ req: w.reqEndpoint, pub: w.pubEndpoint }));
  const extra = options.config?.(dir) ?? {};
  const config = ConfigSchema.parse({
    ...extra,
    state_dir: join(dir, 'state'),
    logging: { level: 'silent', log_tool_calls: false, ...(extra.logging ?? {}) },
    backend: {
      workers: endpoints.map((e, i) => ({ ...e, name: `w${i}` })),
      ...(extra.backend ?? {}),
    },
    deployment: { bevy_assets_base: assets, ...(extra.deployment ?? {}) },
  });
  const service = new SpriteService({ config, logger: silentLogger, cwd: dir });
  const { server } = createMcpServer({ service, config, logger: silentLogger });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'reliability', version: '1.0.0' });
  await server.connect(serverSide);
  await client.connect(clientSide);
  return {
    client,
    service,
    config,
    workers,
    dir,
    assets,
    call: async (name, args = {}) =>
      (await client.callTool({ name, arguments: args }, undefined, {
        timeout: 120_000,
      })) as CallToolResult,
    async close() {
      await client.close().catch(() => undefined);
      await service.close();
      await Promise.all(workers.map((w) => w.close()));
      remove();
    },
  };
}

/** The structuredContent of a tool result. */
export function structured(result: CallToolResult): Record<string, unknown> {
  return (result.structuredContent ?? {}) as Record<string, unknown>;
}

/** The text of a result's first content block ('' when there is none). */
export function text(result: CallToolResult): string {
  const block = result.content[0];
  return block?.type === 'text' ? block.text : '';
}

/** Nearest-rank percentile of `values` (ms), p in 0..100. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}
