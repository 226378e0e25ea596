import { existsSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { firstText, type Harness, inMemoryHarness } from './support/harness.js';
import { TOOLS } from './support/tool-names.js';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

describe('tools/list', () => {
  it('lists every tool with an input schema carrying the config limits, an output schema and annotations', async () => {
    h = await inMemoryHarness();
    const { tools } = await h.client.listTools();
    expect(tools.map((t) => t.name)).toEqual(TOOLS);
    for (const t of tools) {
      expect(t.description?.length, t.name).toBeGreaterThan(60);
      expect(t.outputSchema?.type, t.name).toBe('object');
      expect(t.annotations?.readOnlyHint, t.name).toBeTypeOf('boolean');
      expect(t.inputSchema.additionalProperties, t.name).toBe(false);
    }
    const gen = tools.find((t) => t.name === 'generate_sprite');
    const props = gen?.inputSchema.properties as Record<string, Record<string, unknown>>;
    expect(props.prompt).toMatchObject({ type: 'string' });
    expect(props.steps).toMatchObject({ minimum: 10, maximum: 100 });
    expect(props.cfg_scale).toMatchObject({ minimum: 1, maximum: 20 });
    expect(props.resolution).toMatchObject({
      enum: ['512x512', '1024x1024', '2048x2048'],
      default: '1024x1024',
    });
    expect(props.style).toMatchObject({ default: 'pixel_art' });
    expect(props.wait_s).toMatchObject({ default: 50 });
    expect(gen?.inputSchema.required).toEqual(['prompt']);
    expect(tools.find((t) => t.name === 'get_job')?.annotations).toMatchObject({
      readOnlyHint: true,
    });
    expect(tools.find((t) => t.name === 'deploy_to_bevy')?.annotations).toMatchObject({
      destructiveHint: true,
      idempotentHint: true,
    });
  });
});

describe('generate_sprite', () => {
  it('returns the seed fields, a post-processed sprite, the raw output and a resource_link', async () => {
    h = await inMemoryHarness();
    const result = await h.call('generate_sprite', {
      prompt: 'knight with a sword',
      resolution: '512x512',
      size: [32, 32],
    });
    expect(result.isError).toBeFalsy();
    const s = result.structuredContent as Record<string, unknown>;
    expect(JSON.parse(firstText(result))).toEqual(s);
    expect(s).toMatchObject({ status: 'success', error: null, width: 32, height: 32 });
    expect(s.job_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(s.generation_time).toBeTypeOf('number');
    const png = readFileSync(s.output_path as string);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(existsSync(s.raw_path as string)).toBe(true);
    expect(result.content.some((c) => c.type === 'resource_link')).toBe(true);
    expect(result.content.some((c) => c.type === 'image')).toBe(false);
  });

  it('adds an inline PNG thumbnail only on request, within the caps', async () => {
    h = await inMemoryHarness();
    const result = await h.call('generate_sprite', {
      prompt: 'slime monster',
      resolution: '512x512',
      thumbnail: true,
      thumbnail_size: 128,
    });
    const image = result.content.find((c) => c.type === 'image');
    expect(image).toBeDefined();
    const bytes = Buffer.from((image as { data: string }).data, 'base64');
    expect(bytes.subarray(1, 4).toString()).toBe('PNG');
    expect(bytes.readUInt32BE(16)).toBeLessThanOrEqual(128);
    expect(bytes.length).toBeLessThanOrEqual(64 * 1024);
  });

  it('answers running after wait_s, and wait_job picks the result up', async () => {
    h = await inMemoryHarness(undefined, { stepMs: 40, steps: 10 });
    const first = await h.call('generate_sprite', {
      prompt: 'treasure chest',
      resolution: '512x512',
      wait_s: 0.05,
    });
    const s = first.structuredContent as Record<string, unknown>;
    expect(s.status).toBe('running');
    expect(s.output_path).toBeNull();
    const waited = await h.call('wait_job', { job_id: s.job_id, timeout_s: 20 });
    expect(waited.structuredContent).toMatchObject({ status: 'success', job_id: s.job_id });
    expect(existsSync((waited.structuredContent as { output_path: string }).output_path)).toBe(
      true,
    );
  });

  it('sends monotonic progress notifications with stage, step/total and ETA', async () => {
    h = await inMemoryHarness(undefined, { stepMs: 10, steps: 8 });
    const seen: { progress: number; total?: number | undefined; message?: string | undefined }[] =
      [];
    await h.client.callTool(
      { name: 'generate_sprite', arguments: { prompt: 'wizard hat', resolution: '512x512' } },
      undefined,
      {
        onprogress: (p) => seen.push(p),
      },
    );
    expect(seen.length).toBeGreaterThanOrEqual(5);
    for (let i = 1; i < seen.length; i++)
      expect(seen[i]?.progress).toBeGreaterThan(seen[i - 1]?.progress as number);
    expect(seen.every((p) => p.total === 100)).toBe(true);
    expect(seen.some((p) => /sampling step \d+\/8, ETA \d+ s/.test(p.message ?? ''))).toBe(true);
    expect(seen.at(-1)?.progress).toBe(100);
  });

  it('cancels the worker job when the client cancels the request', async () => {
    h = await inMemoryHarness(undefined, { stepMs: 50, steps: 40 });
    const abort = new AbortController();
    const call = h.client.callTool(
      { name: 'generate_sprite', arguments: { prompt: 'dragon boss', resolution: '512x512' } },
      undefined,
      {
        signal: abort.signal,
      },
    );
    await new Promise((r) => setTimeout(r, 200));
    abort.abort('user pressed stop');
    await expect(call).rejects.toThrow();
    const deadline = Date.now() + 5000;
    while (h.generation.cancelled.length === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(h.generation.cancelled, 'the worker job was not cancelled within 5 s').toHaveLength(1);
    const jobs = await h.call('list_jobs', {});
    expect((jobs.structuredContent as { jobs: { status: string }[] }).jobs[0]?.status).toBe(
      'cancelled',
    );
  });

  it('keeps the seed wording for a dead worker: "Backend connection failed: …"', async () => {
    h = await inMemoryHarness();
    h.generation.unreachable = true;
    const result = await h.call('generate_sprite', { prompt: 'knight' });
    expect(result.isError).toBe(true);
    expect(firstText(result)).toMatch(
      /^Backend connection failed: no DGX worker answered at tcp:\/\/127\.0\.0\.1:1 within 250 ms; start it/,
    );
    expect(result.structuredContent).toMatchObject({ status: 'error', job_id: null });
  });

  it('reports a worker failure as "Generation failed: …"', async () => {
    h = await inMemoryHarness();
    const result = await h.call('generate_sprite', {
      prompt: 'fail please',
      resolution: '512x512',
    });
    expect(result.isError).toBe(true);
    expect(firstText(result)).toBe('Generation failed: Execution failed: out of memory');
  });

  it('times out with the seed wording after backend.timeout_s', async () => {
    h = await inMemoryHarness(() => ({ backend: { timeout_s: 0.2 } }), { stepMs: 200, steps: 50 });
    const result = await h.call('generate_sprite', { prompt: 'slow golem', resolution: '512x512' });
    expect(result.isError).toBe(true);
    expect(firstText(result)).toMatch(/^Generation timed out after 0\.2s; /);
    expect(h.generation.cancelled).toHaveLength(1);
  });

  it('answers an identical seeded request from the raw-output cache when performance.cache_enabled', async () => {
    h = await inMemoryHarness(() => ({ performance: { cache_enabled: true } }));
    const args = { prompt: 'red potion', resolution: '512x512', seed: 42, size: [16, 16] };
    const a = await h.call('generate_sprite', args);
    const b = await h.call('generate_sprite', args);
    expect(h.generation.submitted).toBe(1);
    expect(b.structuredContent).toMatchObject({ status: 'success', cached: true });
    const pa = readFileSync((a.structuredContent as { output_path: string }).output_path);
    const pb = readFileSync((b.structuredContent as { output_path: string }).output_path);
    expect(pb.equals(pa)).toBe(true);
  });

  it('generates and deploys in one call (name + deploy)', async () => {
    h = await inMemoryHarness();
    const result = await h.call('generate_sprite', {
      prompt: 'knight idle',
      resolution: '512x512',
      name: 'knight_idle',
      deploy: true,
    });
    const s = result.structuredContent as Record<string, unknown>;
    expect(s).toMatchObject({
      status: 'success',
      manifest_updated: true,
      sprite_uri: 'sprites://knight_idle',
    });
    expect(s.deployed_path).toBe(`${h.assets}/sprites/knight_idle.png`);
    const manifest = JSON.parse(readFileSync(`${h.assets}/asset_manifest.json`, 'utf8'));
    expect(manifest.sprites[0]).toMatchObject({
      name: 'knight_idle',
      path: 'sprites/knight_idle.png',
      source: { prompt: 'knight idle', style: 'pixel_art' },
    });
  });
});

describe('generate_batch', () => {
  it('runs every prompt, reports partial with the seed per-prompt error', async () => {
    h = await inMemoryHarness();
    const result = await h.call('generate_batch', {
      prompts: ['goblin', 'ab', 'orc shaman'],
      resolution: '512x512',
    });
    const s = result.structuredContent as Record<string, unknown>;
    expect(s).toMatchObject({ status: 'partial', successful: 2, failed: 1 });
    expect(s.job_ids).toHaveLength(3);
    expect((s.job_ids as unknown[])[1]).toBeNull();
    expect((s.output_paths as unknown[])[1]).toBeNull();
    expect(s.errors).toEqual([
      'Prompt 1: Validation error in prompt: Prompt must be at least 3 characters; got "ab" (2 characters). Describe the sprite in a few words, e.g. "knight with a sword".',
    ]);
    expect(s.total_time).toBeTypeOf('number');
  });

  it('writes into output_dir under the job ids', async () => {
    h = await inMemoryHarness();
    const result = await h.call('generate_batch', {
      prompts: ['goblin', 'orc'],
      resolution: '512x512',
      output_dir: 'batch-out',
    });
    const s = result.structuredContent as {
      status: string;
      job_ids: string[];
      output_paths: string[];
    };
    expect(s.status).toBe('success');
    s.output_paths.forEach((p, i) => {
      expect(p).toBe(`${h.dir}/batch-out/${s.job_ids[i]}.png`);
      expect(existsSync(p)).toBe(true);
    });
  });
});

describe('job tools', () => {
  it('get_job, list_jobs, cancel_job and an unknown id', async () => {
    h = await inMemoryHarness(undefined, { stepMs: 50, steps: 100 });
    const started = await h.call('generate_sprite', { prompt: 'castle tile', wait_s: 0 });
    const id = (started.structuredContent as { job_id: string }).job_id;
    expect((await h.call('get_job', { job_id: id })).structuredContent).toMatchObject({
      job_id: id,
      status: 'running',
    });
    const listed = (await h.call('list_jobs', { status: 'running' })).structuredContent as {
      count: number;
    };
    expect(listed.count).toBe(1);
    const cancelled = await h.call('cancel_job', { job_id: id });
    expect(cancelled.structuredContent).toMatchObject({
      status: 'cancelled',
      error: 'Job was cancelled',
    });
    expect(h.generation.cancelled).toEqual([expect.any(String)]);
    const unknown = await h.call('get_job', { job_id: 'nope' });
    expect(unknown.isError).toBe(true);
    expect(firstText(unknown)).toContain('no job with id "nope"; recent ids: ');
  });

  it('get_status, list_models and list_styles answer', async () => {
    h = await inMemoryHarness();
    const status = (await h.call('get_status')).structuredContent as {
      daemon: { version: string };
      workers: { name: string }[];
    };
    expect(status.daemon.version).toBe('0.1.0');
    expect(status.workers[0]?.name).toBe('fake');
    expect((await h.call('list_models')).structuredContent).toMatchObject({ count: 1 });
    const styles = (await h.call('list_styles')).structuredContent as {
      styles: { name: string }[];
      palettes: unknown[];
      limits: object;
    };
    expect(styles.styles.map((s) => s.name)).toContain('pixel_art');
    expect(styles.palettes.length).toBeGreaterThan(0);
    expect(styles.limits).toMatchObject({ steps: [10, 100], max_batch_size: 20 });
  });
});

describe('jobs across a daemon restart', () => {
  it('get_job and wait_job of a new daemon find a finished job of the old one by its files', async () => {
    h = await inMemoryHarness();
    const gen = await h.call('generate_sprite', {
      prompt: 'iron shield',
      resolution: '512x512',
      size: [16, 16],
    });
    const id = (gen.structuredContent as { job_id: string }).job_id;
    const { SpriteService } = await import('../../daemon/src/service/index.js');
    const { silentLogger } = await import('../../daemon/src/log.js');
    const restarted = new SpriteService({ config: h.config, logger: silentLogger, cwd: h.dir });
    const view = await restarted.getJob(id);
    expect(view).toMatchObject({
      status: 'completed',
      outputPath: (gen.structuredContent as { output_path: string }).output_path,
      width: 16,
      height: 16,
    });
    expect((await restarted.waitJob(id, 10)).status).toBe('completed');
    await expect(restarted.getJob('../../etc/passwd')).rejects.toThrow(
      /no job with id "..\/..\/etc\/passwd"/,
    );
    await restarted.close();
  });
});

describe('generate_character', () => {
  it('fails at once, naming the worker and the missing pose extension, when no worker has it', async () => {
    h = await inMemoryHarness();
    const result = await h.call('generate_character', { prompt: 'red knight' });
    expect(result.isError).toBe(true);
    expect(firstText(result)).toMatch(
      /no DGX worker advertises the "pose" extension.*fake lists no extensions/,
    );
    expect(h.generation.submitted).toBe(0);
  });

  it('refuses a bad animation name and bad directions, one line each', async () => {
    h = await inMemoryHarness();
    const result = await h.call('generate_character', {
      prompt: 'red knight',
      directions: 6,
      animations: [{ name: 'Walk!', frames: 4 }],
    });
    expect(result.isError).toBe(true);
    const text = firstText(result);
    expect(text).toContain('Validation error in directions: Directions must be 4 or 8');
    expect(text).toContain(
      'Validation error in animations: Animations must be a list of {name, frames}',
    );
  });
});
