import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { PACKAGE_ROOT } from '../config/load.js';
import { errorMessage } from '../errors.js';
import { silentLogger } from '../log.js';
import type { CliCommand } from './command.js';

const USAGE = `Usage: dgx-pixels demo [options]

The whole pipeline on this machine, no GPU and no network: starts the embedded
worker (procedural engine) on free loopback ports, starts the daemon as a child
over stdio, and drives it with a real MCP client: generate → post-process →
deploy into the example Bevy project, printing progress, the deployed PNG and
its manifest entry.

Options:
  --assets DIR     Bevy assets folder (default bevy-plugin/example-game/assets in this repo)
  --prompt TEXT    what to draw (default "knight with a sword")
  --name NAME      sprite name in the manifest (default "knight")
  --style STYLE    pixel_art | 16bit | 8bit | retro | game_sprite (default pixel_art)
  --size N         sprite size N×N px (default 32)`;

const out = (line: string) => process.stdout.write(`${line}\n`); // stdout-ok: the demo's own report

function bar(percent: number): string {
  const filled = Math.round(percent / 5);
  return `[${'#'.repeat(filled)}${'.'.repeat(20 - filled)}] ${percent.toFixed(0).padStart(3)}%`;
}

export const command: CliCommand = {
  name: 'demo',
  summary: 'generate → post-process → deploy one sprite end to end (embedded worker, no GPU)',
  usage: USAGE,
  async run(argv) {
    let values: Record<string, string | undefined>;
    try {
      values = parseArgs({
        args: argv,
        options: {
          assets: { type: 'string' },
          prompt: { type: 'string' },
          name: { type: 'string' },
          style: { type: 'string' },
          size: { type: 'string' },
        },
      }).values as Record<string, string | undefined>;
    } catch (err) {
      process.stderr.write(`dgx-pixels demo: ${errorMessage(err)}\n${USAGE}\n`);
      return 2;
    }
    const size = Number(values.size ?? 32);
    if (!Number.isInteger(size) || size < 4 || size > 1024) {
      process.stderr.write(
        `dgx-pixels demo: --size must be an integer 4..1024; got "${values.size}"\n`,
      );
      return 2;
    }
    const assets = resolve(values.assets ?? join(PACKAGE_ROOT, 'bevy-plugin/example-game/assets'));
    const stateDir = resolve('.dgx-pixels', 'demo');
    await mkdir(assets, { recursive: true });

    const { startWorker } = await import('../embedded-worker/index.js');
    const worker = await startWorker({
      req: 'tcp://127.0.0.1:*',
      engine: 'procedural',
      outputDir: join(stateDir, 'worker-outputs'),
      logger: silentLogger,
    });
    out(`1. embedded worker (procedural engine, no GPU) at ${worker.reqEndpoint}`);

    const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
    const { StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js');
    const cli = fileURLToPath(new URL('../cli.js', import.meta.url));
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [cli, 'serve', '--assets', assets, '--state-dir', stateDir, '--log-level', 'warn'],
      env: {
        ...(process.env as Record<string, string>),
        DGX_PIXELS_ZMQ_ENDPOINT: worker.reqEndpoint,
        DGX_PIXELS_ZMQ_PUB_ENDPOINT: worker.pubEndpoint,
      },
      stderr: 'inherit',
    });
    const client = new Client({ name: 'dgx-pixels-demo', version: '0.1.0' });
    try {
      await client.connect(transport);
      const { tools } = await client.listTools();
      out(
        `2. daemon started over stdio (MCP): ${tools.length} tools — ${tools.map((t) => t.name).join(', ')}`,
      );
      const prompt = values.prompt ?? 'knight with a sword';
      const name = values.name ?? 'knight';
      out(
        `3. generate_sprite "${prompt}" → ${size}×${size} ${values.style ?? 'pixel_art'} sprite, deploy as "${name}"`,
      );
      let lastKey = '';
      const result = (await client.callTool(
        {
          name: 'generate_sprite',
          arguments: {
            prompt,
            style: values.style ?? 'pixel_art',
            size: [size, size],
            name,
            deploy: true,
            seed: 1234,
            wait_s: 120,
          },
        },
        undefined,
        {
          timeout: 180_000,
          resetTimeoutOnProgress: true,
          onprogress: (p) => {
            // One line per 10 % or per new stage keeps the report short.
            const stage = (p.message ?? '').split(' step')[0] ?? '';
            const key = `${Math.floor(p.progress / 10)}|${stage}`;
            if (key !== lastKey || p.progress === 100)
              out(`   ${bar(p.progress)} ${p.message ?? ''}`);
            lastKey = key;
          },
        },
      )) as CallToolResult;
      const s = result.structuredContent as Record<string, unknown> | undefined;
      if (result.isError || s?.status !== 'success') {
        const first = result.content[0];
        process.stderr.write(
          `dgx-pixels demo: generation failed: ${first?.type === 'text' ? first.text : JSON.stringify(s)}\n`,
        );
        return 1;
      }
      out(
        `4. done in ${s.generation_time} s on the worker: raw ${relative(process.cwd(), String(s.raw_path))}`,
      );
      out(
        `   post-processed sprite ${s.width}×${s.height}: ${relative(process.cwd(), String(s.output_path))}`,
      );
      out(`5. deployed: ${s.deployed_path}`);
      const manifest = await client.readResource({ uri: 'sprites://manifest' });
      const text = (manifest.contents[0] as { text?: string } | undefined)?.text ?? '{}';
      const entry = (JSON.parse(text) as { sprites?: { name: string }[] }).sprites?.find(
        (e) => e.name === name,
      );
      out(`   manifest ${join(assets, 'asset_manifest.json')} entry:`);
      out(JSON.stringify(entry, null, 2).replace(/^/gm, '   '));
      await writeFile(join(stateDir, 'last-demo.json'), JSON.stringify(s, null, 2));
      out(`Open ${s.deployed_path} to see the sprite.`);
      return 0;
    } catch (err) {
      process.stderr.write(`dgx-pixels demo: ${errorMessage(err)}\n`);
      return 1;
    } finally {
      await client.close().catch(() => undefined); // closes the daemon's stdin: it exits
      await worker.close();
    }
  },
};
