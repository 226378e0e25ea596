import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { countColours, type RawImage } from '../../daemon/src/sprites/raw-image.js';
import { fromPng, pixels } from '../support/sprite-fixtures.js';
import { firstText, type Harness, inMemoryHarness } from './support/harness.js';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const ROWS = [
  '................',
  '.....kkkkkk.....',
  '....krrrrrrk....',
  '...krrwwrrrrk...',
  '...krwwrrrrrk...',
  '...krrrrrrrrk...',
  '...kkrrrrrrkk...',
  '....kyyyyyyk....',
  '....kyyggyyk....',
  '....kyyggyyk....',
  '....kyyyyyyk....',
  '.....kbbbbk.....',
  '.....kb..bk.....',
  '.....kb..bk.....',
  '....kkk..kkk....',
  '................',
];
const COLOURS = {
  k: 0x1a1c2c,
  r: 0xb13e53,
  w: 0xf4f4f4,
  y: 0xffcd75,
  g: 0x38b764,
  b: 0x3b5dc9,
};

/** `img` drawn 8× larger on an opaque background, as an upscaled model output is. */
async function upscaled(img: RawImage, scale = 8, background = '#e0e0e0'): Promise<Buffer> {
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: 4 } })
    .resize(img.width * scale, img.height * scale, { kernel: 'nearest' })
    .flatten({ background })
    .png()
    .toBuffer();
}

async function writeInput(dir: string, name: string, png: Buffer): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, png);
  return path;
}

function colourSet(img: RawImage): Set<number> {
  return new Set(countColours(img).keys());
}

describe('process_sprite', () => {
  it('is listed as writing (a client must not auto-approve a deploy), with deploy documented', async () => {
    h = await inMemoryHarness();
    const { tools } = await h.client.listTools();
    const tool = tools.find((t) => t.name === 'process_sprite');
    expect(tool).toBeDefined();
    expect(tool?.annotations).toMatchObject({
      readOnlyHint: false,
      destructiveHint: true,
      idempotentHint: true,
      openWorldHint: false,
    });
    expect(tool?.description).toMatch(/deploy: true.*WRITES/);
    expect(tool?.inputSchema.required).toEqual(['image_path']);
    const props = tool?.inputSchema.properties as Record<string, unknown>;
    for (const field of ['size', 'palette', 'colors', 'remove_background', 'outline', 'deploy'])
      expect(props[field], field).toBeDefined();
    expect(tool?.outputSchema?.type).toBe('object');
  });

  it('turns an upscaled picture into the 1:1 sprite, transparent, and deploys nothing', async () => {
    h = await inMemoryHarness();
    const image = await writeInput(h.dir, 'picture.png', await upscaled(pixels(ROWS, COLOURS)));
    const result = await h.call('process_sprite', { image_path: image });
    expect(result.isError, firstText(result)).toBeFalsy();
    const s = result.structuredContent as Record<string, unknown>;
    expect(JSON.parse(firstText(result))).toEqual(s);
    expect(s).toMatchObject({
      status: 'success',
      error: null,
      kind: 'sprite',
      width: 16,
      height: 16,
      deployed_path: null,
      manifest_updated: false,
      sprite_uri: null,
    });
    expect(s.cell_size).toEqual([8, 8]);
    const out = await fromPng(readFileSync(s.output_path as string));
    expect(out.data[3]).toBe(0); // the background corner is transparent
    expect(colourSet(out)).toEqual(new Set(Object.values(COLOURS)));
    expect(existsSync(join(h.assets, 'asset_manifest.json'))).toBe(false);
    expect(result.content.some((c) => c.type === 'resource_link')).toBe(true);
  });

  it('deploys under name with deploy: true, through the deploy path', async () => {
    h = await inMemoryHarness();
    const image = await writeInput(h.dir, 'picture.png', await upscaled(pixels(ROWS, COLOURS)));
    const result = await h.call('process_sprite', {
      image_path: image,
      name: 'heroes/knight',
      deploy: true,
      outline: true,
    });
    expect(result.isError, firstText(result)).toBeFalsy();
    const s = result.structuredContent as Record<string, unknown>;
    expect(s).toMatchObject({ manifest_updated: true, sprite_uri: 'sprites://heroes/knight' });
    expect(readFileSync(s.deployed_path as string)).toEqual(readFileSync(s.output_path as string));
    const manifest = JSON.parse(readFileSync(join(h.assets, 'asset_manifest.json'), 'utf8'));
    expect(manifest.sprites.map((e: { name: string }) => e.name)).toEqual(['heroes/knight']);
  });

  it('refuses deploy without name, a missing image and an output outside the project, naming the field', async () => {
    h = await inMemoryHarness();
    const image = await writeInput(h.dir, 'picture.png', await upscaled(pixels(ROWS, COLOURS)));
    const noName = await h.call('process_sprite', { image_path: image, deploy: true });
    expect(noName.isError).toBe(true);
    expect(firstText(noName)).toMatch(/name/);
    const missing = await h.call('process_sprite', { image_path: join(h.dir, 'nope.png') });
    expect(missing.isError).toBe(true);
    expect(firstText(missing)).toMatch(/image_path.*nope\.png/);
    const notImage = await h.call('process_sprite', {
      image_path: await writeInput(h.dir, 'notes.png', Buffer.from('not an image')),
    });
    expect(notImage.isError).toBe(true);
    expect(firstText(notImage)).toMatch(/not a readable image/);
    const outside = await h.call('process_sprite', {
      image_path: image,
      output_path: '/tmp/../etc/dgx-pixels-never.png',
    });
    expect(outside.isError).toBe(true);
    expect(firstText(outside)).toMatch(/output_path/);
    const badPalette = await h.call('process_sprite', { image_path: image, palette: 'nope' });
    expect(badPalette.isError).toBe(true);
    expect(firstText(badPalette)).toMatch(/palette.*project/);
  });
});

describe('palette: "project"', () => {
  /** A deployed sprite of 5 colours the new sprites must keep to. */
  const GAME = { k: 0x222034, r: 0xac3232, w: 0xcbdbfc, y: 0xfbf236, g: 0x6abe30, b: 0x5b6ee1 };

  async function deployGameSprite(): Promise<Set<number>> {
    const art = pixels(ROWS, GAME);
    const png = await sharp(art.data, { raw: { width: 16, height: 16, channels: 4 } })
      .png()
      .toBuffer();
    const path = await writeInput(h.dir, 'game-sprite.png', png);
    const r = await h.call('deploy_to_bevy', { sprite_path: path, sprite_name: 'existing' });
    expect(r.isError, firstText(r)).toBeFalsy();
    return colourSet(art);
  }

  it('process_sprite maps onto the colours of the deployed sprites only', async () => {
    h = await inMemoryHarness();
    const game = await deployGameSprite();
    // the new picture has other colours (the reference art's), shaded and noisy
    const image = await writeInput(h.dir, 'picture.png', await upscaled(pixels(ROWS, COLOURS)));
    const result = await h.call('process_sprite', { image_path: image, palette: 'project' });
    expect(result.isError, firstText(result)).toBeFalsy();
    const out = await fromPng(
      readFileSync((result.structuredContent as { output_path: string }).output_path),
    );
    const used = colourSet(out);
    expect(used.size).toBeGreaterThan(3);
    for (const c of used) expect(game.has(c), c.toString(16)).toBe(true);
  });

  it('generate_sprite maps onto them too, and says what to do when nothing is deployed', async () => {
    h = await inMemoryHarness();
    const none = await h.call('generate_sprite', {
      prompt: 'knight with a sword',
      resolution: '512x512',
      palette: 'project',
    });
    expect(none.isError).toBe(true);
    expect(firstText(none)).toMatch(/palette.*deploy a sprite first/);
    const game = await deployGameSprite();
    const result = await h.call('generate_sprite', {
      prompt: 'knight with a sword',
      resolution: '512x512',
      palette: 'project',
      name: 'knight',
      deploy: true,
    });
    expect(result.isError, firstText(result)).toBeFalsy();
    const path = (result.structuredContent as { output_path: string }).output_path;
    const used = colourSet(await fromPng(readFileSync(path)));
    expect(used.size).toBeGreaterThan(0);
    for (const c of used) expect(game.has(c), c.toString(16)).toBe(true);
    // the manifest records the palette by name, not 256 colours
    const manifest = JSON.parse(readFileSync(join(h.assets, 'asset_manifest.json'), 'utf8'));
    const knight = manifest.sprites.find((e: { name: string }) => e.name === 'knight');
    expect(knight.source.postprocess.palette).toBe('project');
  });

  it('a recipe with palette: project is rebuilt onto them', async () => {
    h = await inMemoryHarness();
    const game = await deployGameSprite();
    await writeFile(
      join(h.dir, 'sprites.yaml'),
      'sprites:\n  - { name: chest, prompt: "wooden chest", size: [16, 16], resolution: [512, 512], palette: project }\n',
    );
    const result = await h.call('rebuild_sprites', {});
    expect(result.structuredContent, firstText(result)).toMatchObject({
      rebuilt: ['chest'],
      failed: [],
    });
    const used = colourSet(await fromPng(readFileSync(join(h.assets, 'sprites', 'chest.png'))));
    expect(used.size).toBeGreaterThan(0);
    for (const c of used) expect(game.has(c), c.toString(16)).toBe(true);
  });
});
