import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ResourceListChangedNotificationSchema,
  ResourceUpdatedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { makePng } from '../support/png.js';
import { type Harness, inMemoryHarness } from './support/harness.js';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

/** Resolves when `predicate` holds, or rejects after `ms` naming what did not happen. */
async function until(predicate: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('resources', () => {
  it('declares subscribe and listChanged', async () => {
    h = await inMemoryHarness();
    expect(h.client.getServerCapabilities()?.resources).toEqual({
      subscribe: true,
      listChanged: true,
    });
    expect(h.client.getServerCapabilities()?.logging).toEqual({});
  });

  it('serves sprites://manifest and sprites://{name}, and notifies list-changed and updated after a deploy', async () => {
    h = await inMemoryHarness();
    const updated: string[] = [];
    let listChanged = 0;
    h.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      updated.push(n.params.uri);
    });
    h.client.setNotificationHandler(ResourceListChangedNotificationSchema, () => {
      listChanged++;
    });
    await h.client.subscribeResource({ uri: 'sprites://manifest' });
    await h.client.subscribeResource({ uri: 'sprites://enemies/slime' });

    const empty = await h.client.readResource({ uri: 'sprites://manifest' });
    expect(JSON.parse((empty.contents[0] as { text: string }).text).sprites).toEqual([]);

    const gen = await h.call('generate_sprite', {
      prompt: 'green slime',
      resolution: '512x512',
      size: [24, 24],
    });
    const out = (gen.structuredContent as { output_path: string }).output_path;
    const deployed = await h.call('deploy_to_bevy', {
      sprite_path: out,
      sprite_name: 'enemies/slime',
    });
    expect(deployed.structuredContent).toMatchObject({
      status: 'success',
      deployed_path: `${h.assets}/sprites/enemies/slime.png`,
      manifest_updated: true,
      relative_path: 'sprites/enemies/slime.png',
    });
    await until(
      () => updated.length === 2 && listChanged >= 1,
      'resources/updated for both URIs + list_changed',
    );
    expect(updated.sort()).toEqual(['sprites://enemies/slime', 'sprites://manifest']);

    const { resources } = await h.client.listResources();
    expect(resources.map((r) => r.uri)).toEqual(['sprites://manifest', 'sprites://enemies/slime']);
    const sprite = await h.client.readResource({ uri: 'sprites://enemies/slime' });
    const blob = Buffer.from((sprite.contents[0] as { blob: string }).blob, 'base64');
    expect(sprite.contents[0]?.mimeType).toBe('image/png');
    expect([blob.readUInt32BE(16), blob.readUInt32BE(20)]).toEqual([24, 24]);

    await h.client.unsubscribeResource({ uri: 'sprites://manifest' });
    await h.call('deploy_to_bevy', { sprite_path: out, sprite_name: 'enemies/slime2' });
    await until(() => listChanged >= 2, 'a second list_changed');
    expect(updated.filter((u) => u === 'sprites://manifest')).toHaveLength(1);
  });

  it('reading an unknown sprite names the known ones', async () => {
    h = await inMemoryHarness();
    await expect(h.client.readResource({ uri: 'sprites://ghost' })).rejects.toThrow(
      /cannot read sprites:\/\/ghost: sprite "ghost" is not in the manifest; known: none yet/,
    );
  });
});

describe('logging', () => {
  it('sends tool-call log notifications only after logging/setLevel, at or above that level', async () => {
    h = await inMemoryHarness();
    const logs: { level: string; data: unknown }[] = [];
    const { LoggingMessageNotificationSchema } = await import('@modelcontextprotocol/sdk/types.js');
    h.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      logs.push({ level: n.params.level, data: n.params.data });
    });
    await h.call('list_styles');
    await h.client.setLoggingLevel('warning');
    await h.call('list_styles');
    await h.call('get_job', { job_id: 'missing' });
    await h.client.setLoggingLevel('info');
    await h.call('list_styles');
    await until(() => logs.length === 2, 'two log notifications');
    expect(logs[0]).toMatchObject({ level: 'warning', data: { tool: 'get_job', is_error: true } });
    expect(logs[1]).toMatchObject({
      level: 'info',
      data: { tool: 'list_styles', is_error: false },
    });
  });
});

describe('a manifest written by the original Python server', () => {
  it('is upgraded when read over MCP, as the CLI does', async () => {
    h = await inMemoryHarness();
    await mkdir(join(h.assets, 'sprites'), { recursive: true });
    await writeFile(join(h.assets, 'sprites', 'old.png'), makePng(8, 8));
    await writeFile(
      join(h.assets, 'asset_manifest.json'),
      JSON.stringify({
        sprites: [{ name: 'old', path: 'sprites/old.png', deployed_at: '2025-11-20T10:00:00' }],
      }),
    );
    const read = await h.client.readResource({ uri: 'sprites://manifest' });
    const manifest = JSON.parse((read.contents[0] as { text: string }).text);
    expect(manifest.sprites).toEqual([
      expect.objectContaining({
        name: 'old',
        path: 'sprites/old.png',
        kind: 'sprite',
        width: 8,
        height: 8,
      }),
    ]);
    const sprite = await h.client.readResource({ uri: 'sprites://old' });
    expect(sprite.contents[0]).toMatchObject({ mimeType: 'image/png' });
  });
});
