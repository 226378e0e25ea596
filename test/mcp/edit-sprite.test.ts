import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, inMemoryHarness } from './support/harness.js';

// edit_sprite and reference / init_image / strength at the MCP edge, in process (fake
// generation port that records what it was sent; real sprites/ and assets/). The same
// behaviour against the real embedded worker over ZeroMQ is in test/e2e/conditioning.test.ts.

let h: Harness;
afterEach(async () => {
  await h?.close();
});

/** A 16×16 sprite: a 6×10 body of two colours on transparent, feet on row 13. */
async function spritePng(): Promise<Buffer> {
  const data = Buffer.alloc(16 * 16 * 4);
  for (let y = 4; y < 14; y++)
    for (let x = 5; x < 11; x++) {
      const p = (y * 16 + x) * 4;
      data.set(y < 8 ? [200, 40, 40, 255] : [40, 60, 200, 255], p);
    }
  return sharp(data, { raw: { width: 16, height: 16, channels: 4 } })
    .png()
    .toBuffer();
}

async function rgba(buf: Buffer) {
  const { data, info } = await sharp(buf).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return {
    data: new Uint8Array(data),
    width: info.width,
    height: info.height,
    channels: info.channels,
  };
}

const text = (r: { content?: unknown }) =>
  ((r.content as { text?: string }[] | undefined)?.[0]?.text ?? '') as string;

async function deployHero(): Promise<void> {
  const path = join(h.dir, 'hero-src.png');
  await writeFile(path, await spritePng());
  const r = await h.call('deploy_to_bevy', { sprite_path: path, sprite_name: 'hero' });
  expect(r.isError, text(r)).toBeFalsy();
}

describe('edit_sprite (MCP edge)', () => {
  it('is listed as writing, and generate_sprite / generate_batch take reference, init_image, strength', async () => {
    h = await inMemoryHarness();
    const { tools } = await h.client.listTools();
    const edit = tools.find((t) => t.name === 'edit_sprite');
    expect(edit?.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true });
    expect(edit?.description).toMatch(/byte for byte/);
    expect(edit?.description).toMatch(/sheets, tilesets and character sets are refused/);
    const props = edit?.inputSchema.properties as Record<string, unknown>;
    for (const f of [
      'name',
      'sprite_path',
      'prompt',
      'mask',
      'mask_path',
      'strength',
      'seed',
      'deploy',
    ])
      expect(props[f], f).toBeDefined();
    for (const name of ['generate_sprite', 'generate_batch']) {
      const p = tools.find((t) => t.name === name)?.inputSchema.properties as Record<
        string,
        unknown
      >;
      for (const f of ['reference', 'init_image', 'strength'])
        expect(p[f], `${name}.${f}`).toBeDefined();
    }
  });

  it('sends the sprite as init_image and the mask at the generation size, and keeps every pixel outside the mask', async () => {
    h = await inMemoryHarness(() => ({
      validation: { allowed_resolutions: ['128x128'] },
      generation: { default_resolution: '128x128' },
    }));
    await deployHero();
    const before = await readFile(join(h.assets, 'sprites', 'hero.png'));
    const r = await h.call('edit_sprite', {
      name: 'hero',
      prompt: 'green slime monster',
      mask: { x: 4, y: 2, width: 8, height: 6 },
      seed: 3,
    });
    expect(r.isError, text(r)).toBeFalsy();
    const s = r.structuredContent as {
      status: string;
      revision: number;
      width: number;
      height: number;
    };
    expect(s).toMatchObject({ status: 'success', revision: 2, width: 16, height: 16 });

    const sent = h.generation.params.at(-1);
    expect(sent?.strength).toBe(0.8);
    const init = await rgba(Buffer.from(sent?.initImage ?? []));
    expect([init.width, init.height]).toEqual([128, 128]);
    // sprite pixel (6, 5) is red: its 8×8 block at the generation size is too; transparent became opaque
    expect([
      ...init.data.subarray(
        ((5 * 8 + 3) * 128 + 6 * 8 + 3) * 4,
        ((5 * 8 + 3) * 128 + 6 * 8 + 3) * 4 + 3,
      ),
    ]).toEqual([200, 40, 40]);
    expect(init.data[3]).toBe(255);
    const mask = await rgba(Buffer.from(sent?.mask ?? []));
    expect([mask.width, mask.height]).toEqual([128, 128]);
    const at = (x: number, y: number) => mask.data[(y * 128 + x) * 4] as number;
    expect(at(4 * 8, 2 * 8)).toBe(255); // first repainted sprite pixel
    expect(at(12 * 8 - 1, 8 * 8 - 1)).toBe(255); // last one
    expect(at(12 * 8, 2 * 8)).toBe(0);
    expect(at(4 * 8, 8 * 8)).toBe(0);

    const a = await rgba(before);
    const b = await rgba(await readFile(join(h.assets, 'sprites', 'hero.png')));
    let inside = 0;
    for (let y = 0; y < 16; y++)
      for (let x = 0; x < 16; x++) {
        const p = (y * 16 + x) * 4;
        const same = [0, 1, 2, 3].every((c) => a.data[p + c] === b.data[p + c]);
        if (x >= 4 && x < 12 && y >= 2 && y < 8) inside += same ? 0 : 1;
        else expect(same, `pixel ${x},${y}`).toBe(true);
      }
    expect(inside).toBeGreaterThan(0);
  });

  it('refuses a sheet clearly, and reports every bad argument at once', async () => {
    h = await inMemoryHarness();
    const sheet = await h.call('generate_sprite', {
      prompt: 'slime bouncing',
      animation_frames: 2,
      size: [16, 16],
      name: 'slime_walk',
      deploy: true,
    });
    expect(sheet.isError, text(sheet)).toBeFalsy();
    const r = await h.call('edit_sprite', { name: 'slime_walk', prompt: 'a hat' });
    expect(r.isError).toBe(true);
    expect(text(r)).toContain('Validation error in name');
    expect(text(r)).toContain('is a sheet');
    expect(text(r)).toContain('single sprites only');

    const many = await h.call('edit_sprite', {
      sprite_path: 'nowhere.png',
      prompt: 'a hat',
      mask: { x: 0, y: 0, width: 2, height: 2 },
      mask_path: 'm.png',
      deploy: true,
      strength: 2,
    });
    expect(many.isError).toBe(true);
    // the schema's error (strength) comes first; the service's follow once it is fixed
    expect(text(many)).toContain('Validation error in strength');
    const service = await h.call('edit_sprite', {
      sprite_path: 'nowhere.png',
      prompt: 'a hat',
      mask: { x: 0, y: 0, width: 2, height: 2 },
      mask_path: 'm.png',
      deploy: true,
    });
    for (const field of ['mask', 'deploy', 'sprite_path'])
      expect(text(service)).toContain(`Validation error in ${field}`);
    expect(h.generation.submitted).toBe(1);
  });

  it("generate_sprite: strength needs init_image; init_image gives the sprite's size and palette", async () => {
    h = await inMemoryHarness();
    const lone = await h.call('generate_sprite', { prompt: 'knight', strength: 0.5 });
    expect(lone.isError).toBe(true);
    expect(text(lone)).toContain('Validation error in strength');
    expect(text(lone)).toContain('init_image');

    // a small file of too many pixels (a decompression bomb) is refused before it is expanded
    await writeFile(
      join(h.dir, 'bomb.png'),
      await sharp({ create: { width: 5000, height: 5000, channels: 3, background: '#000' } })
        .png({ palette: true, colours: 2 })
        .toBuffer(),
    );
    const bomb = await h.call('generate_sprite', { prompt: 'knight', init_image: 'bomb.png' });
    expect(bomb.isError).toBe(true);
    expect(text(bomb)).toContain('Validation error in init_image');
    expect(text(bomb)).toContain('over the limit');

    const path = join(h.dir, 'start.png');
    await writeFile(path, await spritePng());
    const r = await h.call('generate_sprite', {
      prompt: 'knight',
      init_image: 'start.png',
      seed: 9,
    });
    expect(r.isError, text(r)).toBeFalsy();
    const sent = h.generation.params.at(-1);
    expect(sent?.strength).toBe(0.6);
    expect(sent?.initImage).toBeDefined();
    expect(sent?.mask).toBeUndefined();
    const s = r.structuredContent as { output_path: string; width: number; height: number };
    expect([s.width, s.height]).toEqual([16, 16]);
    const out = await rgba(await readFile(s.output_path));
    const used = new Set<string>();
    for (let p = 0; p < out.data.length; p += 4)
      if ((out.data[p + 3] as number) >= 128)
        used.add(`${out.data[p]},${out.data[p + 1]},${out.data[p + 2]}`);
    expect([...used].filter((c) => c !== '200,40,40' && c !== '40,60,200')).toEqual([]);
  });

  it('generate_batch reads reference once for every prompt, and refuses a bad one once', async () => {
    h = await inMemoryHarness();
    await deployHero();
    const bad = await h.call('generate_batch', {
      prompts: ['knight a', 'knight b'],
      reference: ['nope'],
    });
    expect(bad.isError).toBe(true);
    expect(text(bad).split('Validation error in reference[0]')).toHaveLength(2);
    expect(text(bad)).toContain('no sprite "nope" is deployed');
    expect(h.generation.submitted).toBe(0);

    const r = await h.call('generate_batch', {
      prompts: ['knight a', 'knight b'],
      reference: ['hero'],
      seed: 4,
    });
    expect(r.isError, text(r)).toBeFalsy();
    const s = r.structuredContent as { status: string; output_paths: string[] };
    expect(s.status).toBe('success');
    for (const path of s.output_paths) {
      const img = await rgba(await readFile(path));
      expect([img.width, img.height]).toEqual([16, 16]);
    }
    expect(h.generation.params.map((p) => p.referenceImages?.length)).toEqual([1, 1]);
  });
});
