import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import {
  ResourceListChangedNotificationSchema,
  ResourceUpdatedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { type Stack, startStack, until } from './support/daemon.js';

/**
 *   SDK Client ──stdio──▶ node daemon/dist/cli.js serve ──ZeroMQ──▶ embedded worker (this process)
 */
let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

function text(result: object): string {
  const first = (result as { content: { type: string; text?: string }[] }).content[0];
  return first?.text ?? '';
}

describe('daemon over stdio with the embedded worker', () => {
  it('generates, post-processes and deploys with progress; resources follow', async () => {
    stack = await startStack();
    const { client } = stack.daemon;
    const updated: string[] = [];
    let listChanged = 0;
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      updated.push(n.params.uri);
    });
    client.setNotificationHandler(ResourceListChangedNotificationSchema, () => {
      listChanged++;
    });
    await client.subscribeResource({ uri: 'sprites://manifest' });
    const progress: number[] = [];
    const result = await client.callTool(
      {
        name: 'generate_sprite',
        arguments: {
          prompt: 'knight with a sword',
          size: [32, 32],
          name: 'knight',
          deploy: true,
          seed: 5,
        },
      },
      undefined,
      { onprogress: (p) => progress.push(p.progress) },
    );
    const s = result.structuredContent as Record<string, unknown>;
    expect(s, text(result)).toMatchObject({
      status: 'success',
      width: 32,
      height: 32,
      manifest_updated: true,
    });
    expect(s.deployed_path).toBe(`${stack.dir}/assets/sprites/knight.png`);
    expect(existsSync(s.raw_path as string)).toBe(true);
    expect(progress.length).toBeGreaterThan(3);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    await until(
      () => updated.includes('sprites://manifest') && listChanged > 0,
      'resources/updated + list_changed',
    );
    const manifest = JSON.parse(readFileSync(`${stack.dir}/assets/asset_manifest.json`, 'utf8'));
    expect(manifest.sprites[0]).toMatchObject({
      name: 'knight',
      width: 32,
      height: 32,
      source: { seed: 5 },
    });
    const read = await client.readResource({ uri: 'sprites://knight' });
    expect(read.contents[0]?.mimeType).toBe('image/png');
    expect(stack.daemon.stderr()).toMatch(
      /\] INFO - dgx-pixels - tool call tool=generate_sprite duration_ms=\d+ is_error=false/,
    );
  });

  it('answers every tool', async () => {
    stack = await startStack();
    const { call } = stack.daemon;
    const status = await call('get_status');
    expect(status.structuredContent).toMatchObject({
      workers: [{ reachable: true, version: '1.0.0' }],
    });
    const models = await call('list_models');
    expect((models.structuredContent as { count: number }).count).toBeGreaterThan(0);
    expect((await call('list_styles')).structuredContent).toMatchObject({
      limits: { max_batch_size: 20 },
    });
    const batch = await call('generate_batch', {
      prompts: ['goblin', 'potion', 'tree'],
      size: [16, 16],
    });
    expect(batch.structuredContent).toMatchObject({
      status: 'success',
      successful: 3,
      failed: 0,
      errors: null,
    });
    const ids = (batch.structuredContent as { job_ids: string[] }).job_ids;
    expect((await call('get_job', { job_id: ids[0] })).structuredContent).toMatchObject({
      status: 'success',
    });
    expect((await call('wait_job', { job_id: ids[1] })).structuredContent).toMatchObject({
      status: 'success',
    });
    expect((await call('cancel_job', { job_id: ids[2] })).structuredContent).toMatchObject({
      status: 'success',
    });
    expect((await call('list_jobs', { limit: 2 })).structuredContent).toMatchObject({ count: 2 });
    const out = (batch.structuredContent as { output_paths: string[] }).output_paths[0];
    const deployed = await call('deploy_to_bevy', {
      sprite_path: out,
      bevy_assets_dir: `${stack.dir}/assets`,
      sprite_name: 'goblin',
    });
    expect(deployed.structuredContent, text(deployed)).toMatchObject({
      status: 'success',
      manifest_updated: true,
    });
    // process_sprite: a raw model output, onto the deployed sprites' colours, deployed
    const job = (await call('get_job', { job_id: ids[0] })).structuredContent as {
      raw_path: string;
    };
    const processed = await call('process_sprite', {
      image_path: job.raw_path,
      size: [16, 16],
      palette: 'project',
      name: 'goblin_again',
      deploy: true,
      bevy_assets_dir: `${stack.dir}/assets`,
    });
    expect(processed.structuredContent, text(processed)).toMatchObject({
      status: 'success',
      width: 16,
      height: 16,
      manifest_updated: true,
      sprite_uri: 'sprites://goblin_again',
    });
    const noRecipe = await call('rebuild_sprites', { dry_run: true });
    expect(text(noRecipe)).toMatch(/cannot read recipe file .*sprites\.yaml/);
    writeFileSync(
      `${stack.dir}/sprites.yaml`,
      'sprites:\n  - { name: chest, prompt: "wooden treasure chest", size: [16, 16], resolution: [512, 512] }\n',
    );
    const dry = await call('rebuild_sprites', { dry_run: true });
    expect(dry.structuredContent, text(dry)).toMatchObject({
      dry_run: true,
      rebuilt: [],
      reasons: { chest: 'new' },
      generated: 0,
    });
    const real = await call('rebuild_sprites', {});
    expect(real.structuredContent, text(real)).toMatchObject({
      dry_run: false,
      rebuilt: ['chest'],
      generated: 1,
      failed: [],
    });
    expect(existsSync(`${stack.dir}/assets/sprites/chest.png`)).toBe(true);
    const bad = await call('generate_sprite', { prompt: 'ab' });
    expect(text(bad)).toMatch(/^Validation error in prompt: Prompt must be at least 3 characters/);
  });

  it('makes animation strips and tilesets, deployed with their frame grid', async () => {
    stack = await startStack();
    const strip = await stack.daemon.call('generate_sprite', {
      prompt: 'slime monster walking',
      size: [16, 16],
      resolution: '512x512',
      animation_frames: 4,
      name: 'slime_walk',
      deploy: true,
    });
    expect(strip.structuredContent, text(strip)).toMatchObject({
      status: 'success',
      kind: 'sheet',
    });
    const tiles = await stack.daemon.call('generate_sprite', {
      prompt: 'grass ground tiles',
      size: [16, 16],
      resolution: '512x512',
      tileset_grid: [2, 2],
      name: 'grass',
      deploy: true,
    });
    expect(tiles.structuredContent, text(tiles)).toMatchObject({
      status: 'success',
      kind: 'tileset',
    });
    const manifest = JSON.parse(readFileSync(`${stack.dir}/assets/asset_manifest.json`, 'utf8'));
    const byName = Object.fromEntries(manifest.sprites.map((e: { name: string }) => [e.name, e]));
    expect(byName.slime_walk).toMatchObject({ kind: 'sheet', grid: { columns: 4, rows: 1 } });
    expect(byName.grass).toMatchObject({ kind: 'tileset', grid: { columns: 2, rows: 2 } });
  });

  it('answers running after wait_s, then wait_job returns the sprite', async () => {
    stack = await startStack({ stepMs: 40 });
    const first = await stack.daemon.call('generate_sprite', {
      prompt: 'stone golem',
      wait_s: 0.2,
    });
    const s = first.structuredContent as { status: string; job_id: string };
    expect(s.status).toBe('running');
    const done = await stack.daemon.call('wait_job', { job_id: s.job_id, timeout_s: 30 });
    expect(done.structuredContent).toMatchObject({ status: 'success', job_id: s.job_id });
  });

  it('cancels the worker job when the client cancels mid-job', async () => {
    stack = await startStack({ stepMs: 100 });
    const { client, call } = stack.daemon;
    const abort = new AbortController();
    let sawProgress = false;
    const pending = client.callTool(
      { name: 'generate_sprite', arguments: { prompt: 'dragon boss' } },
      undefined,
      {
        signal: abort.signal,
        onprogress: (p) => {
          if (p.progress > 5) sawProgress = true;
        },
      },
    );
    pending.catch(() => undefined);
    await until(() => sawProgress, 'progress past 5 %');
    abort.abort('stop');
    await expect(pending).rejects.toThrow();
    await until(async () => {
      const jobs = (await call('list_jobs')).structuredContent as { jobs: { status: string }[] };
      return jobs.jobs[0]?.status === 'cancelled';
    }, 'the job to be cancelled');
    await until(async () => {
      const st = (await call('get_status')).structuredContent as {
        workers: { active_jobs: number; queue_size: number }[];
      };
      return st.workers[0]?.active_jobs === 0 && st.workers[0]?.queue_size === 0;
    }, 'the worker to drop the job');
  });

  it('reports a dead worker with the seed wording', async () => {
    stack = await startStack();
    await stack.worker.close();
    const result = await stack.daemon.call('generate_sprite', { prompt: 'knight', wait_s: 20 });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/^Backend connection failed: /);
  });
});
