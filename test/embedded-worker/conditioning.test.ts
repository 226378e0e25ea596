import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { renderProcedural } from '../../daemon/src/embedded-worker/engines/procedural/compose.js';
import {
  type ConditionedRequest,
  conditionedPicture,
  flattenInit,
  type RgbaImage,
  referenceLook,
} from '../../daemon/src/embedded-worker/engines/procedural/conditioning.js';
import { drawSprite } from '../../daemon/src/embedded-worker/engines/procedural/sprite.js';
import type { Engine } from '../../daemon/src/embedded-worker/index.js';
import { encodeRgbaPng } from '../support/png.js';
import { bootWorker } from './boot-worker.js';
import { generate } from './wire-client.js';

// Image conditioning in the embedded worker (protocol/conditioning.ts): capabilities, the
// procedural engine's deterministic emulation (img2img, inpainting, reference), and the
// refusals of bad fields, over real ZeroMQ where it is about the wire.

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const boot = (engine?: Engine) =>
  bootWorker(cleanups, { stepMs: 1, ...(engine ? { engine } : {}) });

/** A clean sprite (transparent background) as the init / reference picture. */
function spriteImage(prompt: string, seed: number): RgbaImage {
  const s = drawSprite({ prompt, seed });
  return { width: s.width, height: s.height, data: s.rgba };
}
const pngOf = (img: RgbaImage): Buffer =>
  encodeRgbaPng(Buffer.from(img.data), img.width, img.height);

/** The init picture resampled to W×H the way the brief says (nearest: x → floor(x·w/W)), flattened. */
function initResampled(img: RgbaImage, bg: readonly number[], W: number, H: number): Uint8Array {
  const out = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const s =
        (Math.floor((y * img.height) / H) * img.width + Math.floor((x * img.width) / W)) * 4;
      const a = (img.data[s + 3] as number) / 255;
      for (let ch = 0; ch < 3; ch++) {
        out[(y * W + x) * 3 + ch] = Math.round(
          (img.data[s + ch] as number) * a + (bg[ch] as number) * (1 - a),
        );
      }
    }
  }
  return out;
}

/** Pixels (not channels) that differ between two RGB buffers, as a 0/1 map. */
function differing(a: Uint8Array, b: Uint8Array): Uint8Array {
  const n = a.length / 3;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (a[i * 3] !== b[i * 3] || a[i * 3 + 1] !== b[i * 3 + 1] || a[i * 3 + 2] !== b[i * 3 + 2])
      out[i] = 1;
  }
  return out;
}
const count = (m: Uint8Array): number => m.reduce((s, v) => s + v, 0);

const BG = [230, 225, 236] as const;
function request(overrides: Partial<ConditionedRequest> = {}): ConditionedRequest {
  return {
    init: spriteImage('blue knight', 3),
    strength: 0.5,
    width: 96,
    height: 96,
    seed: 11,
    prompt: 'green goblin',
    fresh: drawSprite({ prompt: 'green goblin', seed: 11 }),
    background: BG,
    ...overrides,
  };
}

describe('procedural img2img emulation', () => {
  it('strength 0 gives the init picture resampled; the changed share grows with strength, each step a superset', () => {
    const init = spriteImage('blue knight', 3);
    const base = initResampled(init, BG, 96, 96);
    let previous: Uint8Array | undefined;
    const counts: number[] = [];
    for (const strength of [0, 0.2, 0.4, 0.6, 0.8, 1]) {
      const out = conditionedPicture(request({ init, strength }));
      const changed = differing(out.image.data, base);
      counts.push(count(changed));
      if (previous !== undefined) {
        for (let i = 0; i < changed.length; i++)
          if (previous[i] === 1) expect(changed[i], `pixel ${i} at ${strength}`).toBe(1);
      }
      previous = changed;
    }
    expect(counts[0]).toBe(0);
    for (let k = 1; k < counts.length; k++)
      expect(counts[k] as number).toBeGreaterThanOrEqual(counts[k - 1] as number);
    // grows for real: a fifth of the parts changes much less than all of them
    expect(counts[1] as number).toBeGreaterThan(0);
    expect(counts[5] as number).toBeGreaterThan(3 * (counts[1] as number));
  });

  it('keeps the subject at a low strength, repaints most of it at 1', () => {
    const init = spriteImage('blue knight', 3);
    const base = initResampled(init, BG, 96, 96);
    // subject pixels at the job size
    const subject = new Uint8Array(96 * 96);
    for (let y = 0; y < 96; y++)
      for (let x = 0; x < 96; x++) {
        const s =
          (Math.floor((y * init.height) / 96) * init.width + Math.floor((x * init.width) / 96)) * 4;
        subject[y * 96 + x] = (init.data[s + 3] as number) > 0 ? 1 : 0;
      }
    const share = (strength: number): number => {
      const changed = differing(conditionedPicture(request({ init, strength })).image.data, base);
      let inSubject = 0;
      for (let i = 0; i < changed.length; i++) if (changed[i] && subject[i]) inSubject++;
      return inSubject / count(subject);
    };
    expect(share(0.2)).toBeLessThan(0.35);
    expect(share(1)).toBeGreaterThan(0.75);
  });

  it('an init with no subject (blank) gets the prompt’s sprite drawn over it at strength 1', () => {
    const blank = { width: 32, height: 32, data: new Uint8Array(32 * 32 * 4) };
    const out = conditionedPicture(request({ init: blank, strength: 1 }));
    expect(out.parts).toBeGreaterThan(0);
    expect(count(differing(out.image.data, initResampled(blank, BG, 96, 96)))).toBeGreaterThan(
      96 * 96 * 0.2,
    );
    expect(conditionedPicture(request({ init: blank, strength: 0 })).repainted).toBe(0);
  });

  it('is deterministic in the seed, and another seed repaints other parts', () => {
    const a = conditionedPicture(request({ seed: 5 }));
    const b = conditionedPicture(request({ seed: 5 }));
    const c = conditionedPicture(request({ seed: 6 }));
    expect(Buffer.from(a.image.data).equals(Buffer.from(b.image.data))).toBe(true);
    expect(Buffer.from(a.image.data).equals(Buffer.from(c.image.data))).toBe(false);
    expect(a.repainted).toBe(Math.round(0.5 * a.parts));
  });
});

describe('procedural inpainting emulation', () => {
  it('repaints only where the mask is white: outside it the output is the init resampled, pixel for pixel', () => {
    const init = spriteImage('red knight', 2);
    // a mask at another size than the job (resampled nearest): white over the upper half's middle
    const mw = 40;
    const mh = 40;
    const mask = new Uint8Array(mw * mh * 4);
    for (let y = 0; y < mh; y++)
      for (let x = 0; x < mw; x++) {
        const white = x >= 10 && x < 30 && y >= 4 && y < 20;
        mask.set(white ? [255, 255, 255, 255] : [0, 0, 0, 255], (y * mw + x) * 4);
      }
    const W = 120;
    const H = 100;
    const out = conditionedPicture(
      request({
        init,
        mask: { width: mw, height: mh, data: mask },
        strength: 1,
        width: W,
        height: H,
      }),
    );
    const base = initResampled(init, BG, W, H);
    let inside = 0;
    let changedInside = 0;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const m = (Math.floor((y * mh) / H) * mw + Math.floor((x * mw) / W)) * 4;
        const o = (y * W + x) * 3;
        const same =
          out.image.data[o] === base[o] &&
          out.image.data[o + 1] === base[o + 1] &&
          out.image.data[o + 2] === base[o + 2];
        if (mask[m] === 255) {
          inside++;
          if (!same) changedInside++;
        } else expect(same, `pixel ${x},${y} outside the mask`).toBe(true);
      }
    }
    expect(changedInside / inside).toBeGreaterThan(0.3);
  });

  it('flattens a transparent init onto the background it is given', () => {
    const init = spriteImage('red knight', 2);
    const flat = flattenInit(init, BG);
    expect([...flat.subarray(0, 3)]).toEqual([...BG]); // a corner is transparent
  });
});

/** Distinct opaque colours of an RGBA buffer, as hex. */
function colours(rgba: Uint8Array): Set<string> {
  const out = new Set<string>();
  for (let i = 0; i < rgba.length; i += 4)
    if ((rgba[i + 3] as number) > 0) out.add(Buffer.from(rgba.subarray(i, i + 3)).toString('hex'));
  return out;
}
function box(rgba: Uint8Array, width: number, height: number) {
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      if ((rgba[(y * width + x) * 4 + 3] as number) > 0) {
        x0 = Math.min(x0, x);
        x1 = Math.max(x1, x);
        y0 = Math.min(y0, y);
        y1 = Math.max(y1, y);
      }
  return { w: x1 - x0 + 1, h: y1 - y0 + 1 };
}

describe('procedural reference emulation', () => {
  it('draws the reference’s character: its colours only, its size and proportions, in the pose asked', () => {
    const ref = spriteImage('green slime', 5); // a round creature: its own box and palette
    const look = referenceLook(ref);
    expect(look).toBeDefined();
    if (look === undefined) return;
    const refColours = colours(ref.data);
    const refBox = box(ref.data, ref.width, ref.height);
    for (const facing of ['south', 'east', 'north']) {
      const picture = renderProcedural({
        prompt: 'knight',
        seed: 9,
        width: 128,
        height: 128,
        pose: { facing, animation: 'stand' },
        reference: look,
      });
      const { logical } = picture;
      expect([logical.width, logical.height]).toEqual([ref.width, ref.height]);
      for (const c of colours(logical.rgba)) expect(refColours.has(c), c).toBe(true);
      const b = box(logical.rgba, logical.width, logical.height);
      expect(Math.abs(b.w / b.h - refBox.w / refBox.h)).toBeLessThan(0.15 * (refBox.w / refBox.h));
      expect(Math.abs(b.w * b.h - refBox.w * refBox.h)).toBeLessThan(0.15 * refBox.w * refBox.h);
    }
    // facings still differ
    const east = renderProcedural({
      prompt: 'knight',
      seed: 9,
      width: 64,
      height: 64,
      pose: { facing: 'east', animation: 'stand' },
      reference: look,
    });
    const north = renderProcedural({
      prompt: 'knight',
      seed: 9,
      width: 64,
      height: 64,
      pose: { facing: 'north', animation: 'stand' },
      reference: look,
    });
    expect(Buffer.from(east.logical.rgba).equals(Buffer.from(north.logical.rgba))).toBe(false);
  });

  it('reads a reference on an opaque plain background too', () => {
    const ref = spriteImage('blue wizard', 1);
    const opaque = flattenInit(ref, [250, 250, 250]);
    const rgba = new Uint8Array(ref.width * ref.height * 4);
    for (let i = 0; i < ref.width * ref.height; i++)
      rgba.set([...opaque.subarray(i * 3, i * 3 + 3), 255], i * 4);
    const look = referenceLook({ width: ref.width, height: ref.height, data: rgba });
    expect(look?.palette.length).toBe(colours(ref.data).size);
  });
});

/** Decode a PNG to raw RGB. */
async function rgbOf(
  png: Uint8Array,
): Promise<{ data: Uint8Array; width: number; height: number }> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height };
}

describe('worker wire: image conditioning', () => {
  it('capabilities lists init_image, mask and reference_images for the procedural engine', async () => {
    const { client } = await boot();
    const reply = await client.request({ type: 'capabilities' });
    expect(reply.extensions).toEqual(
      expect.arrayContaining(['pose', 'init_image', 'mask', 'reference_images']),
    );
  });

  it('img2img at strength 0 returns the init picture resampled; at 0.6 a changed one; both seed-deterministic', async () => {
    const { client } = await boot();
    const init = spriteImage('blue knight', 3);
    // opaque init: the flatten background does not matter
    const flat = flattenInit(init, [240, 240, 240]);
    const opaque = new Uint8Array(init.width * init.height * 4);
    for (let i = 0; i < init.width * init.height; i++)
      opaque.set([...flat.subarray(i * 3, i * 3 + 3), 255], i * 4);
    const initPng = pngOf({ width: init.width, height: init.height, data: opaque });
    const run = async (strength: number): Promise<Uint8Array> => {
      const req = generate({
        init_image: initPng,
        strength,
        seed: 7,
        size: [64, 80],
        return_image: true,
      });
      expect((await client.request(req)).type).toBe('job_accepted');
      const done = (await client.terminal(req.id as string)).at(-1);
      expect(done?.type, String(done?.error)).toBe('job_complete');
      return done?.image as Uint8Array;
    };
    const zero = await rgbOf(await run(0));
    expect([zero.width, zero.height]).toEqual([64, 80]);
    const expected = initResampled(
      { width: init.width, height: init.height, data: opaque },
      [0, 0, 0],
      64,
      80,
    );
    expect(Buffer.from(zero.data).equals(Buffer.from(expected))).toBe(true);
    const a = await run(0.6);
    const b = await run(0.6);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(count(differing((await rgbOf(a)).data, expected))).toBeGreaterThan(100);
  });

  it('inpainting over the wire leaves every pixel outside the mask as the init', async () => {
    const { client } = await boot();
    const init = spriteImage('red knight', 2);
    const mask = new Uint8Array(init.width * init.height * 4);
    for (let y = 0; y < init.height; y++)
      for (let x = 0; x < init.width; x++)
        mask.set(
          x < init.width / 2 && y < init.height / 2 ? [255, 255, 255, 255] : [0, 0, 0, 255],
          (y * init.width + x) * 4,
        );
    const req = generate({
      init_image: pngOf(init),
      mask: pngOf({ width: init.width, height: init.height, data: mask }),
      seed: 4,
      size: [96, 96],
      return_image: true,
    });
    expect((await client.request(req)).type).toBe('job_accepted');
    const done = (await client.terminal(req.id as string)).at(-1);
    expect(done?.type, String(done?.error)).toBe('job_complete');
    const out = await rgbOf(done?.image as Uint8Array);
    // the background a transparent init is flattened onto: any corner pixel (outside the mask, transparent)
    const o = (95 * 96 + 95) * 3;
    const bg = [out.data[o], out.data[o + 1], out.data[o + 2]] as number[];
    const base = initResampled(init, bg, 96, 96);
    const changed = differing(out.data, base);
    let inside = 0;
    for (let y = 0; y < 96; y++)
      for (let x = 0; x < 96; x++) {
        if (x < 48 && y < 48) inside += changed[y * 96 + x] as number;
        else expect(changed[y * 96 + x], `${x},${y}`).toBe(0);
      }
    expect(inside).toBeGreaterThan(0);
  });

  it('a reference job completes with a picture of the job size', async () => {
    const { client } = await boot();
    const req = generate({
      reference_images: [pngOf(spriteImage('green slime', 5))],
      pose: { facing: 'east', animation: 'walk' },
      animation_frames: 2,
      size: [64, 64],
      return_image: true,
    });
    expect((await client.request(req)).type).toBe('job_accepted');
    const done = (await client.terminal(req.id as string)).at(-1);
    expect(done?.type, String(done?.error)).toBe('job_complete');
    const out = await rgbOf(done?.image as Uint8Array);
    expect([out.width, out.height]).toEqual([128, 64]);
  });

  it('refuses bad fields with job_error naming the field and the fix, and survives garbage bytes', async () => {
    const { client } = await boot();
    const init = pngOf(spriteImage('blue knight', 3));
    const refused = async (fields: Record<string, unknown>, pattern: RegExp): Promise<void> => {
      const reply = await client.request(generate(fields));
      expect(reply.type, JSON.stringify(fields).slice(0, 60)).toBe('job_error');
      expect(String(reply.error)).toMatch(pattern);
      expect(String(reply.error)).toContain('The job was not queued');
    };
    await refused({ init_image: init, strength: 1.5 }, /strength must be a number in 0\.\.1.*1\.5/);
    await refused({ init_image: init, strength: -0.1 }, /strength must be a number in 0\.\.1/);
    await refused({ init_image: init, strength: '0.5' }, /strength must be a number/);
    await refused({ strength: 0.5 }, /strength applies to init_image, which is absent/);
    await refused({ mask: init }, /mask needs init_image.*leave mask out/);
    await refused(
      { init_image: new Uint8Array([1, 2, 3, 4, 5]) },
      /init_image must be PNG bytes.*5 bytes/,
    );
    await refused({ init_image: 'a.png' }, /init_image must be PNG bytes.*str/);
    await refused({ init_image: init, mask: Buffer.alloc(64, 7) }, /mask must be PNG bytes/);
    await refused({ reference_images: init }, /reference_images must be an array/);
    await refused({ reference_images: [] }, /reference_images must be an array of 1\.\.9/);
    await refused(
      { reference_images: [init, Buffer.from('nope')] },
      /reference_images\[1\] must be PNG bytes/,
    );
    await refused({ init_image: init, animation_frames: 4 }, /init_image .*animation_frames/);

    // a PNG header over garbage passes the signature check and fails in the engine, named
    const corrupt = Buffer.concat([init.subarray(0, 40), Buffer.alloc(200, 0x5a)]);
    const req = generate({ init_image: corrupt });
    expect((await client.request(req)).type).toBe('job_accepted');
    const end = (await client.terminal(req.id as string)).at(-1);
    expect(end?.type).toBe('job_error');
    expect(String(end?.error)).toMatch(
      /init_image is not a decodable PNG.*send the bytes of a PNG/,
    );
    // a reference that shows nothing
    const blank = pngOf({ width: 8, height: 8, data: new Uint8Array(8 * 8 * 4) });
    const r2 = generate({ reference_images: [blank] });
    expect((await client.request(r2)).type).toBe('job_accepted');
    expect(String((await client.terminal(r2.id as string)).at(-1)?.error)).toMatch(
      /reference_images\[0\] shows no subject/,
    );
    // still alive
    expect((await client.request({ type: 'ping' })).type).toBe('pong');
  });

  it('an engine without the extensions refuses init_image instead of ignoring it', async () => {
    const plain: Engine = {
      name: 'comfyui',
      extensions: ['pose'],
      listModels: async () => [],
      generate: async () => {
        throw new Error('must not run');
      },
      close: async () => undefined,
    };
    const { client } = await boot(plain);
    const reply = await client.request(
      generate({ init_image: pngOf(spriteImage('blue knight', 3)), strength: 0.5 }),
    );
    expect(reply.type).toBe('job_error');
    expect(String(reply.error)).toMatch(
      /init_image needs the "init_image" extension, which the comfyui engine does not have/,
    );
  });
});
