import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { samplingEtaS } from '../../daemon/src/embedded-worker/engines/comfyui/watch.js';
import { startWorker, type WorkerOptions } from '../../daemon/src/embedded-worker/index.js';
import { type FakeComfyOptions, startFakeComfyUI } from '../support/fake-comfyui.js';
import { bootComfyWorker, WORKFLOWS } from './boot-worker.js';
import { generate, type Msg, tempDir } from './wire-client.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const boot = (fake: FakeComfyOptions = {}, options: WorkerOptions = {}) =>
  bootComfyWorker(cleanups, fake, options);

const types = (msgs: Msg[]): string[] => msgs.map((m) => m.type);

describe('comfyui engine', () => {
  it('fills the template, follows the websocket and saves the image from /view', async () => {
    const { comfy, client } = await boot();
    const req = generate({
      prompt: 'blue wizard',
      negative_prompt: 'blurry',
      seed: 1234,
      steps: 6,
      cfg_scale: 6.5,
      size: [96, 64],
      lora: 'pixel-art-xl.safetensors',
      style: '16bit',
    });
    expect((await client.request(req)).type).toBe('job_accepted');
    const msgs = await client.terminal(req.id as string);
    expect(types(msgs).slice(0, 2)).toEqual(['job_started', 'job_started']);
    expect(types(msgs).slice(-2)).toEqual(['job_finished', 'job_complete']);
    const stages = [...new Set(msgs.filter((m) => m.type === 'progress').map((m) => m.stage))];
    expect(stages).toEqual([
      'initializing',
      'loading_models',
      'encoding',
      'sampling',
      'decoding',
      'post_processing',
    ]);
    expect(msgs.filter((m) => m.stage === 'sampling').map((m) => m.step)).toContain(6);
    const firstStep = msgs.find((m) => m.stage === 'sampling' && m.step === 1);
    expect(firstStep?.eta_s).toBeGreaterThan(1); // five steps and the decode still to come

    const graph = comfy.prompts[0] as Record<
      string,
      { class_type: string; inputs: Record<string, unknown> }
    >;
    expect(graph['6']?.inputs.text).toBe('blue wizard, 16bit style');
    expect(graph['7']?.inputs.text).toBe('blurry');
    expect(graph['3']?.inputs).toMatchObject({ seed: 1234, steps: 6, cfg: 6.5 });
    expect(graph['5']?.inputs).toMatchObject({ width: 96, height: 64, batch_size: 1 });
    expect(graph['10']?.inputs.lora_name).toBe('pixel-art-xl.safetensors');

    const file = await readFile((msgs.at(-1) as Msg).image_path as string);
    const meta = await sharp(file).metadata();
    expect([meta.width, meta.height]).toEqual([96, 64]);
    expect(comfy.requestsTo('GET', '/view').length).toBe(1);
  });

  it('falls back to /history polling when the websocket is refused', async () => {
    const { comfy, client } = await boot({ noWebSocket: true }, {});
    const req = generate({ steps: 3 });
    await client.request(req);
    const msgs = await client.terminal(req.id as string);
    expect(types(msgs).at(-1)).toBe('job_complete');
    expect(comfy.requestsTo('GET', '/history/').length).toBeGreaterThan(0);
  });

  it('turns node_errors for a missing model into a job_error that says what to fix', async () => {
    const { client } = await boot();
    const req = generate({ model: 'missing_model.safetensors' });
    await client.request(req);
    const msgs = await client.terminal(req.id as string);
    expect(types(msgs).slice(-2)).toEqual(['job_finished', 'job_error']);
    const error = String(msgs.at(-1)?.error);
    expect(error).toContain(
      'Execution failed: ComfyUI rejected the workflow: Prompt outputs failed validation',
    );
    expect(error).toContain(
      "node 4 (CheckpointLoaderSimple): Value not in list (ckpt_name: 'missing_model.safetensors' not in",
    );
    expect(error).toContain('is not installed in ComfyUI');
  });

  it('reports an execution_error with the node and a hint', async () => {
    const { client } = await boot({
      failInNode: { classType: 'VAEDecode', message: 'CUDA out of memory' },
    });
    const req = generate();
    await client.request(req);
    const error = String((await client.terminal(req.id as string)).at(-1)?.error);
    expect(error).toBe(
      'Execution failed: ComfyUI execution failed in node 8 (VAEDecode): RuntimeError: CUDA out of memory. Lower the size or batch, or free GPU memory.',
    );
  });

  it('interrupts ComfyUI when a running job is cancelled', async () => {
    const { comfy, client } = await boot({ stepMs: 100 });
    const req = generate({ steps: 50 });
    await client.request(req);
    await client.until(
      (u) => u.some((m) => m.job_id === req.id && m.stage === 'sampling'),
      'sampling in ComfyUI',
    );
    expect(await client.request({ type: 'cancel', job_id: req.id })).toEqual({
      type: 'job_cancelled',
      job_id: req.id,
    });
    const msgs = await client.terminal(req.id as string, 5000);
    expect(String(msgs.at(-1)?.error)).toMatch(/cancel/i);
    await client.until(
      () => comfy.requestsTo('POST', '/interrupt').length === 1,
      'POST /interrupt',
    );
  });

  it('deletes a prompt still waiting in the ComfyUI queue when its job is cancelled', async () => {
    const { comfy, client } = await boot({ stepMs: 100 }, { slots: 2 });
    const a = generate({ steps: 30 });
    const b = generate({ steps: 30 });
    await client.request(a);
    await client.request(b);
    await client.until(() => comfy.prompts.length === 2, 'both prompts queued in ComfyUI');
    await client.request({ type: 'cancel', job_id: b.id });
    await client.terminal(b.id as string, 5000);
    await client.until(
      () => comfy.requestsTo('POST', '/queue').length === 1,
      'POST /queue {delete}',
    );
    const del = comfy.requestsTo('POST', '/queue')[0]?.body as { delete: string[] };
    expect(del.delete).toHaveLength(1);
    expect(comfy.requestsTo('POST', '/interrupt')).toEqual([]);
    await client.request({ type: 'cancel', job_id: a.id });
  });

  it('lists the models ComfyUI has, sorted', async () => {
    const { client } = await boot({
      checkpoints: ['zeta.safetensors', 'Alpha.ckpt'],
      loras: ['mid.safetensors'],
    });
    const reply = await client.request({ type: 'list_models' });
    expect(reply.models).toEqual([
      { name: 'Alpha.ckpt', path: 'checkpoints/Alpha.ckpt', model_type: 'checkpoint', size_mb: 0 },
      { name: 'mid.safetensors', path: 'loras/mid.safetensors', model_type: 'lora', size_mb: 0 },
      {
        name: 'zeta.safetensors',
        path: 'checkpoints/zeta.safetensors',
        model_type: 'checkpoint',
        size_mb: 0,
      },
    ]);
  });

  it('generates animation frames as a batch and joins them side by side', async () => {
    const { comfy, client } = await boot();
    const req = generate({ size: [32, 48], animation_frames: 3, steps: 2 });
    await client.request(req);
    const complete = (await client.terminal(req.id as string)).at(-1) as Msg;
    expect(comfy.prompts[0]?.['5']?.inputs.batch_size).toBe(3);
    const meta = await sharp(await readFile(complete.image_path as string)).metadata();
    expect([meta.width, meta.height]).toEqual([96, 48]);
  });

  it('refuses to start when ComfyUI does not answer, saying how to fix it', async () => {
    const comfy = await startFakeComfyUI();
    const url = comfy.url;
    await comfy.close();
    await expect(
      startWorker({
        engine: 'comfyui',
        comfyuiUrl: url,
        req: 'tcp://127.0.0.1:*',
        workflowDir: WORKFLOWS,
      }),
    ).rejects.toThrow(
      `cannot reach ComfyUI at ${url} (GET /system_stats: ECONNREFUSED); check that ComfyUI is running there`,
    );
  });

  it('refuses a UI-format workflow template at start', async () => {
    const comfy = await startFakeComfyUI();
    cleanups.push(() => comfy.close());
    const tmp = await tempDir();
    cleanups.push(tmp.remove);
    await writeFile(join(tmp.dir, 'ui.json'), JSON.stringify({ nodes: [], links: [] }));
    await expect(
      startWorker({
        engine: 'comfyui',
        comfyuiUrl: comfy.url,
        req: 'tcp://127.0.0.1:*',
        workflowDir: tmp.dir,
        workflow: 'ui.json',
      }),
    ).rejects.toThrow(
      "is in ComfyUI's UI format (nodes/links); export it with Workflow → Export (API) instead",
    );
  });
});

describe('sampling ETA', () => {
  it('is time per step so far × steps left + 1 s, and 0.5 s a step while a step seems to take no time', () => {
    expect(samplingEtaS(1, 6, 3000)).toBeCloseTo(3 * 5 + 1);
    expect(samplingEtaS(3, 6, 3000)).toBeCloseTo(1 * 3 + 1);
    expect(samplingEtaS(6, 6, 9000)).toBeCloseTo(1);
    // progress 1 read in the same tick as the sampler's start (a loaded event loop)
    expect(samplingEtaS(1, 6, 0)).toBeCloseTo(0.5 * 5 + 1);
    expect(samplingEtaS(0, 6, 100)).toBeCloseTo(0.5 * 6 + 1);
  });
});
