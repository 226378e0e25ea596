import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../daemon/src/config/load.js';
import { type FakeComfyUI, startFakeComfyUI } from '../support/fake-comfyui.js';
import { readRgba } from '../support/sprite-fixtures.js';
import { suiteTempDir } from '../support/temp-dir.js';
import { type Daemon, type Stack, startStack } from './support/daemon.js';

// edit_sprite end to end through the ComfyUI engine: SDK client → built daemon (stdio) →
// embedded worker (--engine comfyui, real ZeroMQ) → the fake ComfyUI over HTTP. The sprite
// and the mask go up with POST /upload/image at the generation size, the graph samples
// from them (LoadImage → VAEEncode → SetLatentNoiseMask → KSampler), and the result comes
// back and is post-processed and composited. The fake answers with the uploaded init picture
// itself, so the round trip (upscale with a flat background → grid detection → downscale →
// background removal → the sprite's palette → composite) must give back the original sprite
// byte for byte, inside the mask too: the deploy then changes nothing (same revision).

const ENV = {
  DGX_PIXELS_VALIDATION_ALLOWED_RESOLUTIONS: '[128x128]',
  DGX_PIXELS_GENERATION_DEFAULT_RESOLUTION: '128x128',
  DGX_PIXELS_LOG_LEVEL: 'warning',
};

type Graph = Record<string, { class_type: string; inputs: Record<string, unknown> }>;

const dir = suiteTempDir('dgx-e2e-comfy-edit-');
let comfy: FakeComfyUI;
let stack: Stack | undefined;
let daemon: Daemon;

beforeAll(async () => {
  comfy = await startFakeComfyUI();
  stack = await startStack({
    dir,
    env: ENV,
    worker: {
      engine: 'comfyui',
      comfyuiUrl: comfy.url,
      workflowDir: join(PACKAGE_ROOT, 'config/workflows'),
    },
  });
  daemon = stack.daemon;
});
afterAll(async () => {
  await stack?.close();
  await comfy?.close();
});

describe('edit_sprite through the ComfyUI engine', () => {
  it('uploads the sprite and the mask, samples from them, and an unchanged picture gives back the sprite exactly', async () => {
    // a 16×16 figure: yellow head, green body, on transparent
    const px = Buffer.alloc(16 * 16 * 4);
    for (let y = 3; y < 15; y++)
      for (let x = 4; x < 12; x++)
        px.set(y < 7 ? [220, 180, 40, 255] : [60, 90, 30, 255], (y * 16 + x) * 4);
    const src = join(dir, 'hero.png');
    await writeFile(
      src,
      await sharp(px, { raw: { width: 16, height: 16, channels: 4 } })
        .png()
        .toBuffer(),
    );
    const deployed = await daemon.call('deploy_to_bevy', { sprite_path: src, sprite_name: 'hero' });
    expect(deployed.isError).toBeFalsy();
    const before = (await readRgba(join(dir, 'assets', 'sprites', 'hero.png'))).data;

    const res = await daemon.call('edit_sprite', {
      name: 'hero',
      prompt: 'red wizard hat',
      mask: { x: 4, y: 0, width: 8, height: 7 },
      strength: 0.7,
      seed: 12,
      wait_s: 60,
    });
    const text = (res.content?.[0] as { text?: string } | undefined)?.text ?? '';
    expect(res.isError, text).toBeFalsy();
    expect(res.structuredContent).toMatchObject({
      status: 'success',
      revision: 1,
      width: 16,
      height: 16,
    });

    const names = [...comfy.uploads.values()].map((u) => u.name);
    const init = names.find((n) => n.endsWith('_init.png'));
    const mask = names.find((n) => n.endsWith('_mask.png'));
    expect(init, names.join(', ')).toBeDefined();
    expect(mask, names.join(', ')).toBeDefined();
    for (const u of comfy.uploads.values()) {
      const meta = await sharp(u.bytes).metadata();
      expect([meta.width, meta.height]).toEqual([128, 128]);
    }
    const g = comfy.prompts.at(-1) as Graph;
    const node = (cls: string) => Object.values(g).find((n) => n.class_type === cls);
    expect(node('LoadImage')?.inputs.image).toBe(init);
    expect(node('LoadImageMask')?.inputs.image).toBe(mask);
    expect(node('SetLatentNoiseMask')).toBeDefined();
    expect(node('KSampler')?.inputs).toMatchObject({ seed: 12 });

    const after = (await readRgba(join(dir, 'assets', 'sprites', 'hero.png'))).data;
    expect(Buffer.from(after).equals(Buffer.from(before))).toBe(true);
  });
});
