import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { type Config, type ConfigInput, ConfigSchema } from '../../../daemon/src/config/schema.js';
import { silentLogger } from '../../../daemon/src/log.js';
import { createMcpServer } from '../../../daemon/src/mcp/server.js';
import { SpriteService } from '../../../daemon/src/service/index.js';
import { ownedTempDir } from '../../support/temp-dir.js';
import { type FakeGeneration, fakeGeneration } from './fake-generation.js';

export interface Harness {
  client: Client;
  service: SpriteService;
  generation: FakeGeneration;
  config: Config;
  dir: string;
  assets: string;
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  close(): Promise<void>;
}

/** An McpServer + SpriteService (fake generation port, real sprites/assets) and an SDK Client, linked in memory. */
export async function inMemoryHarness(
  overrides: (dir: string) => ConfigInput = () => ({}),
  fake: { stepMs?: number; steps?: number } = {},
): Promise<Harness> {
  const { dir, remove } = ownedTempDir('dgx-mcp-');
  const assets = join(dir, 'assets');
  await mkdir(assets);
  const extra = overrides(dir);
  const config = ConfigSchema.parse({
    ...extra,
    state_dir: join(dir, 'state'),
    deployment: { bevy_assets_base: assets, ...(extra.deployment ?? {}) },
  });
  const generation = fakeGeneration(fake);
  const service = new SpriteService({
    config,
    logger: silentLogger,
    cwd: dir,
    generation: async () => generation,
  });
  const { server } = createMcpServer({ service, config, logger: silentLogger });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'test', version: '1.0.0' });
  await server.connect(serverSide);
  await client.connect(clientSide);
  return {
    client,
    service,
    generation,
    config,
    dir,
    assets,
    call: async (name, args = {}) =>
      (await client.callTool({ name, arguments: args })) as CallToolResult,
    async close() {
      await client.close();
      await service.close();
      remove();
    },
  };
}

/** The text of a result's first content block. */
export function firstText(result: CallToolResult): string {
  const block = result.content[0];
  if (block?.type !== 'text')
    throw new Error(`first content block is ${block?.type}, expected text`);
  return block.text;
}
