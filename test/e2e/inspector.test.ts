import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningWorker, startWorker } from '../../daemon/src/embedded-worker/index.js';
import { silentLogger } from '../../daemon/src/log.js';
import { TOOLS } from '../mcp/support/tool-names.js';
import { suiteTempDir } from '../support/temp-dir.js';
import { CLI } from './support/daemon.js';

/**
 * The MCP Inspector CLI (0.15.0, the last release without a Node 22 requirement) as a
 * third-party client: `npx mcp-inspector --cli node daemon/dist/cli.js serve … --method …`.
 */
const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
let worker: RunningWorker;
const dir = suiteTempDir('dgx-inspector-');

beforeAll(async () => {
  worker = await startWorker({
    req: 'tcp://127.0.0.1:*',
    engine: 'procedural',
    stepMs: 2,
    outputDir: join(dir, 'w'),
    logger: silentLogger,
  });
});
afterAll(async () => {
  await worker.close();
});

async function inspector(...method: string[]): Promise<Record<string, unknown>> {
  const args = [
    'mcp-inspector',
    '-e',
    `DGX_PIXELS_ZMQ_ENDPOINT=${worker.reqEndpoint}`,
    '-e',
    `DGX_PIXELS_ZMQ_PUB_ENDPOINT=${worker.pubEndpoint}`,
    '--cli',
    process.execPath,
    CLI,
    'serve',
    '--state-dir',
    join(dir, 'state'),
    '--assets',
    join(dir, 'assets'),
    ...method,
  ];
  const { stdout } = await run('npx', args, { cwd: ROOT, timeout: 60_000 });
  return JSON.parse(stdout) as Record<string, unknown>;
}

describe('MCP Inspector CLI against the built daemon', () => {
  it('tools/list shows every tool with its schemas', async () => {
    const out = (await inspector('--method', 'tools/list')) as {
      tools: { name: string; outputSchema?: object }[];
    };
    expect(out.tools.map((t) => t.name)).toContain('generate_sprite');
    expect(out.tools.map((t) => t.name)).toEqual(TOOLS);
    expect(out.tools.every((t) => t.outputSchema !== undefined)).toBe(true);
  });

  it('tools/call generate_sprite runs a job on the embedded worker', async () => {
    const out = await inspector(
      '--method',
      'tools/call',
      '--tool-name',
      'generate_sprite',
      '--tool-arg',
      'prompt=red potion',
      '--tool-arg',
      'wait_s=30',
    );
    expect(out.isError).toBeUndefined();
    expect(out.structuredContent).toMatchObject({ status: 'success', error: null });
  });

  it('tools/call with bad input returns the seed wording as isError', async () => {
    const out = await inspector(
      '--method',
      'tools/call',
      '--tool-name',
      'generate_sprite',
      '--tool-arg',
      'prompt=ab',
    );
    expect(out.isError).toBe(true);
    expect((out.content as { text: string }[])[0]?.text).toMatch(
      /^Validation error in prompt: Prompt must be at least 3 characters/,
    );
  });
});
