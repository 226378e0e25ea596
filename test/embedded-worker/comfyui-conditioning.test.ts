import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { drawSprite } from '../../daemon/src/embedded-worker/engines/procedural/sprite.js';
import type { WorkerOptions } from '../../daemon/src/embedded-worker/index.js';
import { type FakeComfyOptions, startFakeComfyUI } from '../support/fake-comfyui.js';
import { encodeRgbaPng } from '../support/png.js';
import { bootComfyWorker, WORKFLOWS } from './boot-worker.js';
import { generate, type Msg, tempDir, type WireClient } from './wire-client.js';

// Image conditioning through the ComfyUI engine against the fake ComfyUI: the PNGs go up
// with POST /upload/image (multipart, as server.py takes them), the graph sent loads them
// (LoadImage → VAEEncode → KSampler denoise = strength; LoadImageMask → SetLatentNoiseMask;
// IP-Adapter nodes for references when /object_info lists them) and the result comes back.

const IPADAPTER = ['IPAdapterUnifiedLoader', 'IPAdapter'];
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const boot = (fake: FakeComfyOptions = {}, options: WorkerOptions = {}) =>
  bootComfyWorker(cleanups, fake, options);

type Graph = Record<string, { class_type: string; inputs: Record<string, unknown> }>;
const nodeOf = (g: Graph, cls: string): [string, Graph[string]] => {
  const found = Object.entries(g).find(([, n]) => n.class_type === cls);
  if (found === undefined) throw new Error(`no ${cls} in ${JSON.stringify(g).slice(0, 300)}`);
  return found;
};
const nodesOf = (g: Graph, cls: string) =>
  Object.entries(g).filter(([, n]) => n.class_type === cls);

function spritePng(prompt: string, seed: number): Buffer {
  const s = drawSprite({ prompt, seed });
  return encodeRgbaPng(Buffer.from(s.rgba), s.width, s.height);
}

async function run(client: WireClient, fields: Record<string, unknown>): Promise<Msg[]> {
  const req = generate({ steps: 3, return_image: true, ...fields });
  const reply = await client.request(req);
  expect(reply.type, String(reply.error)).toBe('job_accepted');
  return client.terminal(req.id as string);
}

describe('comfyui engine: image conditioning', () => {
  it('advertises init_image and mask from its templates, reference_images only with the IP-Adapter nodes', async () => {
    const plain = await boot();
    const caps = await plain.client.request({ type: 'capabilities' });
    expect(caps.extensions).toEqual(expect.arrayContaining(['init_image', 'mask']));
    expect(caps.extensions).not.toContain('reference_images');
    expect(caps.extensions).not.toContain('pose');
    expect(plain.comfy.requestsTo('GET', '/object_info/IPAdapterUnifiedLoader')).toHaveLength(1);
    const withIpa = await boot({ customNodes: IPADAPTER });
    expect((await withIpa.client.request({ type: 'capabilities' })).extensions).toContain(
      'reference_images',
    );
  });

  it('img2img: uploads the init resized to the job size, LoadImage → VAEEncode → KSampler with denoise = strength, and the result comes back', async () => {
    const { comfy, client } = await boot();
    const msgs = await run(client, {
      init_image: spritePng('blue knight', 3),
      strength: 0.4,
      size: [64, 48],
      seed: 77,
    });
    const done = msgs.at(-1) as Msg;
    expect(done.type, String(done.error)).toBe('job_complete');

    // the upload, as server.py takes it: multipart image + type=input + overwrite=true
    const uploads = comfy.requestsTo('POST', '/upload/image');
    expect(uploads).toHaveLength(1);
    expect(uploads[0]?.body).toMatchObject({ type: 'input', overwrite: 'true' });
    const [file] = [...comfy.uploads.values()];
    expect(file?.name).toBe(`dgx-pixels_${done.job_id}_init.png`);
    const meta = await sharp(file?.bytes).metadata();
    expect([meta.width, meta.height]).toEqual([64, 48]);

    const g = comfy.prompts[0] as Graph;
    const [loadId, load] = nodeOf(g, 'LoadImage');
    expect(load.inputs.image).toBe(file?.name);
    const [encodeId, encode] = nodeOf(g, 'VAEEncode');
    expect(encode.inputs.pixels).toEqual([loadId, 0]);
    const [, sampler] = nodeOf(g, 'KSampler');
    expect(sampler.inputs).toMatchObject({ latent_image: [encodeId, 0], denoise: 0.4, seed: 77 });
    expect(nodesOf(g, 'EmptyLatentImage')).toHaveLength(0);

    // the fake returns the encoded picture: what we uploaded is what came back
    const back = await sharp(done.image as Uint8Array)
      .removeAlpha()
      .raw()
      .toBuffer();
    const sent = await sharp(file?.bytes).removeAlpha().raw().toBuffer();
    expect(back.equals(sent)).toBe(true);
  });

  it('inpainting: the mask goes up as black/white at the job size and is wired through LoadImageMask → SetLatentNoiseMask', async () => {
    const { comfy, client } = await boot();
    // a 4×4 mask: the left half white (= repaint)
    const raw = Buffer.alloc(4 * 4 * 4);
    for (let i = 0; i < 16; i++) raw.set(i % 4 < 2 ? [255, 255, 255, 255] : [0, 0, 0, 255], i * 4);
    const msgs = await run(client, {
      init_image: spritePng('red knight', 2),
      mask: encodeRgbaPng(raw, 4, 4),
      size: [32, 32],
    });
    expect(msgs.at(-1)?.type, String(msgs.at(-1)?.error)).toBe('job_complete');
    const id = String(msgs.at(-1)?.job_id);
    const mask = comfy.uploaded(`dgx-pixels_${id}_mask.png`);
    expect(mask).toBeDefined();
    const { data, info } = await sharp(mask?.bytes).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([32, 32]);
    expect(data[(10 * 32 + 3) * info.channels]).toBe(255);
    expect(data[(10 * 32 + 28) * info.channels]).toBe(0);

    const g = comfy.prompts[0] as Graph;
    const [maskId, maskNode] = nodeOf(g, 'LoadImageMask');
    expect(maskNode.inputs).toEqual({ image: mask?.name, channel: 'red' });
    const [encodeId] = nodeOf(g, 'VAEEncode');
    const [noiseId, noise] = nodeOf(g, 'SetLatentNoiseMask');
    expect(noise.inputs).toEqual({ samples: [encodeId, 0], mask: [maskId, 0] });
    const [, sampler] = nodeOf(g, 'KSampler');
    expect(sampler.inputs).toMatchObject({ latent_image: [noiseId, 0], denoise: 1 });
    expect(nodeOf(g, 'LoadImage')[1].inputs.image).toBe(`dgx-pixels_${id}_init.png`);

    // with a strength (edit_sprite always sends one), the masked repaint uses it as denoise
    const partial = await run(client, {
      init_image: spritePng('red knight', 2),
      mask: encodeRgbaPng(raw, 4, 4),
      strength: 0.45,
      size: [32, 32],
    });
    expect(partial.at(-1)?.type, String(partial.at(-1)?.error)).toBe('job_complete');
    const [, partialSampler] = nodeOf(comfy.prompts[1] as Graph, 'KSampler');
    expect(partialSampler.inputs).toMatchObject({ denoise: 0.45 });
  });

  it('references: IPAdapterUnifiedLoader → IPAdapter over the uploaded references, between the LoRA and the sampler', async () => {
    const { comfy, client } = await boot({ customNodes: IPADAPTER });
    const msgs = await run(client, {
      reference_images: [spritePng('green slime', 5), spritePng('blue wizard', 1)],
      size: [64, 64],
    });
    expect(msgs.at(-1)?.type, String(msgs.at(-1)?.error)).toBe('job_complete');
    expect(comfy.uploads.size).toBe(2);
    for (const u of comfy.uploads.values()) {
      const meta = await sharp(u.bytes).metadata();
      expect([meta.width, meta.height]).toEqual([512, 512]);
    }
    const g = comfy.prompts[0] as Graph;
    const [loaderId, loader] = nodeOf(g, 'IPAdapterUnifiedLoader');
    expect(loader.inputs).toEqual({ model: ['10', 0], preset: 'PLUS (high strength)' });
    const refs = nodesOf(g, 'LoadImage').map(([rid, n]) => [rid, n.inputs.image]);
    expect(refs.map(([, name]) => name).sort()).toEqual(
      [...comfy.uploads.values()].map((u) => u.name).sort(),
    );
    const [batchId, batch] = nodeOf(g, 'ImageBatch');
    expect(batch.inputs).toEqual({ image1: [refs[0]?.[0], 0], image2: [refs[1]?.[0], 0] });
    const [applyId, apply] = nodeOf(g, 'IPAdapter');
    expect(apply.inputs).toMatchObject({
      model: [loaderId, 0],
      ipadapter: [loaderId, 1],
      image: [batchId, 0],
      weight_type: 'standard',
    });
    expect(nodeOf(g, 'KSampler')[1].inputs.model).toEqual([applyId, 0]);
    expect(nodeOf(g, 'EmptyLatentImage')[1].inputs).toMatchObject({ width: 64, height: 64 });
  });

  it('references without the IP-Adapter nodes: refused at once, naming the node and the fix; nothing uploaded', async () => {
    const { comfy, client } = await boot();
    const reply = await client.request(
      generate({ reference_images: [spritePng('green slime', 5)] }),
    );
    expect(reply.type).toBe('job_error');
    expect(String(reply.error)).toContain('has no IPAdapterUnifiedLoader, IPAdapter node');
    expect(String(reply.error)).toContain('install ComfyUI_IPAdapter_plus');
    expect(comfy.requestsTo('POST', '/upload/image')).toHaveLength(0);
    expect(comfy.prompts).toHaveLength(0);
  });

  it('without the img2img template init_image is off, and the refusal names the file', async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.remove);
    await copyFile(
      join(WORKFLOWS, 'sprite_optimized.json'),
      join(tmp.dir, 'sprite_optimized.json'),
    );
    const { client } = await boot({}, { workflowDir: tmp.dir });
    const caps = await client.request({ type: 'capabilities' });
    expect(caps.extensions).not.toContain('init_image');
    expect(caps.extensions).not.toContain('mask');
    const reply = await client.request(generate({ init_image: spritePng('red knight', 2) }));
    expect(reply.type).toBe('job_error');
    expect(String(reply.error)).toContain('no img2img workflow template sprite_img2img.json');
  });

  it('an init image that does not decode fails the job naming init_image, before anything reaches ComfyUI', async () => {
    const { comfy, client } = await boot();
    const corrupt = Buffer.concat([
      spritePng('red knight', 2).subarray(0, 40),
      Buffer.alloc(100, 1),
    ]);
    const msgs = await run(client, { init_image: corrupt });
    expect(msgs.at(-1)?.type).toBe('job_error');
    expect(String(msgs.at(-1)?.error)).toMatch(/init_image is not a decodable PNG/);
    expect(comfy.requestsTo('POST', '/upload/image')).toHaveLength(0);
    expect(comfy.prompts).toHaveLength(0);
  });
});

describe('fake ComfyUI /upload/image (server.py image_upload)', () => {
  it('answers {name, subfolder, type}, renames a clash unless overwrite, refuses a form without an image', async () => {
    const comfy = await startFakeComfyUI();
    cleanups.push(() => comfy.close());
    const post = async (bytes: Buffer, extra: Record<string, string> = {}) => {
      const form = new FormData();
      form.append('image', new Blob([new Uint8Array(bytes)], { type: 'image/png' }), 'a.png');
      for (const [k, v] of Object.entries(extra)) form.append(k, v);
      const res = await fetch(`${comfy.url}/upload/image`, { method: 'POST', body: form });
      return { status: res.status, body: res.status === 200 ? await res.json() : undefined };
    };
    const one = spritePng('red knight', 1);
    const two = spritePng('red knight', 2);
    expect(await post(one)).toEqual({
      status: 200,
      body: { name: 'a.png', subfolder: '', type: 'input' },
    });
    expect((await post(one)).body.name).toBe('a.png'); // same bytes: a duplicate, not renamed
    expect((await post(two)).body.name).toBe('a (1).png');
    expect((await post(two, { overwrite: 'true' })).body.name).toBe('a.png');
    expect((await post(one, { type: 'temp', subfolder: 'x' })).body).toEqual({
      name: 'a.png',
      subfolder: 'x',
      type: 'temp',
    });
    const empty = await fetch(`${comfy.url}/upload/image`, {
      method: 'POST',
      body: new FormData(),
    });
    expect(empty.status).toBe(400);
  });

  it('/prompt refuses a LoadImage naming a file that was never uploaded (value_not_in_list)', async () => {
    const comfy = await startFakeComfyUI();
    cleanups.push(() => comfy.close());
    const res = await fetch(`${comfy.url}/prompt`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        prompt: { '1': { class_type: 'LoadImage', inputs: { image: 'nope.png' } } },
      }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as {
      node_errors: Record<string, { errors: { type: string }[] }>;
    };
    expect(body.node_errors['1']?.errors[0]?.type).toBe('value_not_in_list');
  });
});
