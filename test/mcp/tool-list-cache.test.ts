import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../daemon/src/config/load.js';
import type { Config } from '../../daemon/src/config/schema.js';
import {
  cachedToolList,
  recordToolList,
  type ToolListSnapshot,
} from '../../daemon/src/mcp/tool-list-cache.js';
import { toolListJson } from '../../daemon/src/mcp/tool-registry.js';
import { allTools } from '../../daemon/src/mcp/tools/index.js';
import { type Daemon, startDaemon } from '../e2e/support/daemon.js';
import { tempDir } from '../support/temp-dir.js';

// `npm run build` writes daemon/dist/mcp/tool-list.json (mcp/write-tool-list.ts); `npm test` builds first.
const BUILT = resolve(import.meta.dirname, '../../daemon/dist/mcp/tool-list.json');
// Nothing listens there: tools/list and a validation error never ask the worker.
const NO_WORKER = { req: 'tcp://127.0.0.1:9', pub: 'tcp://127.0.0.1:10' };

const defaultConfig = (): Config => loadConfig({ env: {} }).config;
const withValidation = (patch: Partial<Config['validation']>): Config => {
  const config = structuredClone(defaultConfig());
  Object.assign(config.validation, patch);
  return config;
};
const styleEnum = (tools: Tool[]) =>
  (
    tools.find((t) => t.name === 'generate_sprite')?.inputSchema.properties?.style as {
      enum: string[];
    }
  )?.enum;

describe('tools/list snapshot written by the build', () => {
  it('is exactly what the zod schemas of the sources produce now, and the config keys they read', () => {
    expect(existsSync(BUILT), 'run `npm run build` first').toBe(true);
    const built = JSON.parse(readFileSync(BUILT, 'utf8')) as ToolListSnapshot;
    const config = defaultConfig();
    expect(built.tools).toEqual(toolListJson(allTools(config)));
    expect(built).toEqual(recordToolList(config, allTools));
    // every tool is in it, the one added last included
    expect(built.tools.map((t) => t.name)).toEqual(allTools(config).map((t) => t.name));
  });

  it('records the config keys the schemas carry (limits, styles, defaults) with their values', () => {
    const { reads } = recordToolList(defaultConfig(), allTools);
    const keys = reads.map((r) => r.path.join('.'));
    for (const key of [
      'validation.allowed_styles',
      'validation.min_prompt_length',
      'generation.max_batch_size',
      'generation.default_wait_s',
    ]) {
      expect(keys).toContain(key);
    }
    expect(keys).not.toContain('state_dir');
    expect(keys).not.toContain('backend.zmq_endpoint');
  });

  it('is used only when the config agrees at every key the tools read', () => {
    const snapshot = recordToolList(defaultConfig(), allTools);
    const elsewhere = structuredClone(defaultConfig());
    elsewhere.state_dir = '/somewhere/else';
    elsewhere.backend.zmq_endpoint = 'tcp://10.0.0.2:5555';
    expect(cachedToolList(elsewhere, snapshot)).toBe(snapshot.tools);
    for (const changed of [
      withValidation({ allowed_styles: ['pixel_art', 'chunky'] }),
      withValidation({ max_prompt_length: 200 }),
      { ...defaultConfig(), generation: { ...defaultConfig().generation, default_wait_s: 5 } },
    ]) {
      expect(cachedToolList(changed, snapshot)).toBeUndefined();
    }
    expect(cachedToolList(defaultConfig(), undefined)).toBeUndefined();
  });

  it('notes a section whose keys a tool lists, and a key a tool tests with `in`', () => {
    const snapshot = recordToolList(defaultConfig(), (config) => {
      void Object.keys(config.performance);
      void ('default_lora' in config.generation);
      return [];
    });
    const changed = structuredClone(defaultConfig());
    changed.performance.max_pending_jobs = 3;
    expect(cachedToolList(changed, snapshot)).toBeUndefined();
    const lora = structuredClone(defaultConfig());
    lora.generation.default_lora = 'pixel.safetensors';
    expect(cachedToolList(lora, snapshot)).toBeUndefined();
    expect(cachedToolList(defaultConfig(), snapshot)).toEqual([]);
  });
});

describe('the built daemon over stdio', () => {
  let daemon: Daemon | undefined;
  afterEach(async () => {
    await daemon?.close();
    daemon = undefined;
  });

  it('lists the same tools as the sources build, then validates a call with the tools loaded lazily', async () => {
    const dir = tempDir('dgx-tool-list-');
    daemon = await startDaemon({ dir, ...NO_WORKER });
    const { tools } = await daemon.client.listTools();
    expect(tools).toEqual(toolListJson(allTools(defaultConfig())));
    const result = await daemon.call('generate_sprite', { prompt: 'x', steps: 5 });
    expect(result.isError).toBe(true);
    expect((result.content[0] as { text: string }).text).toMatch(
      /^Validation error in prompt: .*\n.*steps/s,
    );
  });

  it('converts the schemas live for a config the snapshot does not match', async () => {
    const dir = tempDir('dgx-tool-list-');
    const file = join(dir, 'config.yaml');
    writeFileSync(file, 'validation:\n  allowed_styles: [pixel_art, chunky]\n');
    daemon = await startDaemon({ dir, ...NO_WORKER, args: ['--config', file] });
    const { tools } = await daemon.client.listTools();
    expect(styleEnum(tools as Tool[])).toEqual(['pixel_art', 'chunky']);
    const config = withValidation({ allowed_styles: ['pixel_art', 'chunky'] });
    expect(tools).toEqual(toolListJson(allTools(config)));
  });
});
