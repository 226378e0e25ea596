import { readdir, readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import {
  drawSprite,
  encodeLikeModel,
  type LogicalSprite,
  renderLikeModel,
  renderProcedural,
  renderProceduralAsync,
} from '../../daemon/src/embedded-worker/engines/procedural/index.js';
import { startWorker } from '../../daemon/src/embedded-worker/index.js';
import { generate, type Msg, tempDir, WireClient } from './wire-client.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function opaqueColours(s: Pick<LogicalSprite, 'rgba'>): Set<string> {
  const out = new Set<string>();
  for (let i = 0; i < s.rgba.length; i += 4)
    if (s.rgba[i + 3]) out.add(`${s.rgba[i]},${s.rgba[i + 1]},${s.rgba[i + 2]}`);
  return out;
}

describe('drawSprite', () => {
  it('is deterministic and depends on the seed', () => {
    const a = drawSprite({ prompt: 'purple dragon', seed: 5, style: '16bit' });
    const b = drawSprite({ prompt: 'purple dragon', seed: 5, style: '16bit' });
    const c = drawSprite({ prompt: 'purple dragon', seed: 6, style: '16bit' });
    expect(Buffer.from(a.rgba).equals(Buffer.from(b.rgba))).toBe(true);
    expect(Buffer.from(a.rgba).equals(Buffer.from(c.rgba))).toBe(false);
  });

  it.each([
    ['a brave knight', 'character', 'knight'],
    ['green slime enemy', 'creature', 'slime'],
    ['health potion', 'item', 'potion'],
    ['stone floor tile', 'tile', 'stone'],
    ['gold coin', 'item', 'coin'],
  ])('reads %j as a %s (%s)', (prompt, kind, subtype) => {
    const s = drawSprite({ prompt, seed: 1 });
    expect([s.kind, s.subtype]).toEqual([kind, subtype]);
    expect(opaqueColours(s).size).toBeGreaterThan(2);
  });

  it('makes the styles visibly different: resolution and palette', () => {
    const by = (style: string) => drawSprite({ prompt: 'red knight', seed: 2, style });
    expect(['8bit', 'retro', 'pixel_art', '16bit', 'game_sprite'].map((s) => by(s).width)).toEqual([
      16, 24, 32, 32, 48,
    ]);
    const retro = opaqueColours(by('retro'));
    expect(retro.size).toBeLessThanOrEqual(4);
    for (const c of retro)
      expect(['15,56,15', '48,98,48', '139,172,15', '155,188,15']).toContain(c);
    expect(opaqueColours(by('16bit')).size).toBeGreaterThan(opaqueColours(by('8bit')).size);
    expect(opaqueColours(by('8bit'))).toContain('0,0,0'); // hard black outline
  });

  it('draws left/right symmetric items (apart from the shine)', () => {
    const s = drawSprite({ prompt: 'potion', seed: 3, style: 'pixel_art' });
    let opaque = 0;
    let mismatched = 0;
    for (let y = 0; y < s.height; y++) {
      for (let x = 0; x < s.width / 2; x++) {
        const a = s.rgba[(y * s.width + x) * 4 + 3];
        const b = s.rgba[(y * s.width + (s.width - 1 - x)) * 4 + 3];
        if (a || b) opaque++;
        if (a !== b) mismatched++;
      }
    }
    expect(opaque).toBeGreaterThan(50);
    expect(mismatched / opaque).toBeLessThan(0.05);
  });
});

describe('renderLikeModel', () => {
  it('places the grid at a non-integer scale and sub-pixel offset, close to the truth but noisy', () => {
    const sprite = drawSprite({ prompt: 'blue wizard', seed: 9, style: '16bit' });
    const { image, truth } = renderLikeModel(sprite, { width: 512, height: 512, seed: 9 });
    expect(image.data.length).toBe(512 * 512 * 3);
    expect(truth.logicalSize).toEqual([32, 32]);
    const frac = (v: number) => v - Math.floor(v);
    expect(frac(truth.scale)).toBeGreaterThan(0.1);
    expect(frac(truth.scale)).toBeLessThan(0.9);
    for (const o of truth.offset) expect(frac(o)).toBeGreaterThanOrEqual(0.2);
    // sample the centre of every logical pixel: near its colour (or the background), never exact everywhere
    let error = 0;
    let exact = 0;
    for (let j = 0; j < 32; j++) {
      for (let i = 0; i < 32; i++) {
        const x = Math.floor(truth.offset[0] + (i + 0.5) * truth.scale);
        const y = Math.floor(truth.offset[1] + (j + 0.5) * truth.scale);
        const p = (j * 32 + i) * 4;
        const want = sprite.rgba[p + 3] ? [...sprite.rgba.subarray(p, p + 3)] : truth.background;
        const got = [...image.data.subarray((y * 512 + x) * 3, (y * 512 + x) * 3 + 3)];
        const d = got.reduce((s, v, k) => s + Math.abs(v - (want[k] as number)), 0) / 3;
        error += d;
        if (d === 0) exact++;
      }
    }
    expect(error / 1024).toBeLessThan(8);
    expect(exact).toBeLessThan(1024 / 2);
  });

  it('encodes deterministically, with mild JPEG-like artefacts', async () => {
    const pic = renderProcedural({
      prompt: 'gem',
      seed: 4,
      style: 'pixel_art',
      width: 256,
      height: 256,
    });
    const a = await encodeLikeModel(pic.image);
    const b = await encodeLikeModel(pic.image);
    expect(a.equals(b)).toBe(true);
    const decoded = await sharp(a).raw().toBuffer({ resolveWithObject: true });
    expect(decoded.info.channels).toBe(3);
    let diff = 0;
    for (let i = 0; i < decoded.data.length; i++)
      diff += Math.abs((decoded.data[i] as number) - (pic.image.data[i] as number));
    const mean = diff / decoded.data.length;
    expect(mean).toBeGreaterThan(0.2);
    expect(mean).toBeLessThan(6);
  });
});

describe('renderProceduralAsync', () => {
  it('gives the same pixels as renderProcedural and stops when aborted', async () => {
    const request = { prompt: 'bat', seed: 11, style: 'retro', width: 200, height: 150, frames: 2 };
    const sync = renderProcedural(request);
    const async_ = await renderProceduralAsync(request);
    expect(Buffer.from(async_.image.data).equals(Buffer.from(sync.image.data))).toBe(true);
    expect(async_.truth).toEqual(sync.truth);
    const controller = new AbortController();
    const pending = renderProceduralAsync(
      { ...request, width: 1024, height: 1024 },
      controller.signal,
    );
    controller.abort(new Error('stop now'));
    await expect(pending).rejects.toThrow('stop now');
  });
});

describe('renderProcedural sheets', () => {
  it('lays animation frames side by side with one placement and small pose changes', () => {
    const pic = renderProcedural({
      prompt: 'knight walking',
      seed: 1,
      style: '16bit',
      width: 128,
      height: 96,
      frames: 4,
    });
    expect([pic.image.width, pic.image.height]).toEqual([512, 96]);
    expect(pic.truth.cells).toEqual([4, 1]);
    const frame = (k: number) => {
      const out = Buffer.alloc(32 * 32 * 4);
      for (let y = 0; y < 32; y++)
        out.set(
          pic.logical.rgba.subarray((y * 128 + k * 32) * 4, (y * 128 + k * 32 + 32) * 4),
          y * 32 * 4,
        );
      return out;
    };
    const frames = [0, 1, 2, 3].map(frame);
    expect(frames[0]?.equals(frames[1] as Buffer)).toBe(false);
    let same = 0;
    for (let i = 0; i < (frames[0] as Buffer).length; i++)
      if (frames[0]?.[i] === frames[1]?.[i]) same++;
    expect(same / (frames[0] as Buffer).length).toBeGreaterThan(0.7); // small variation, same character
  });

  it('makes tilesets whose tiles share border colours and differ inside', () => {
    const pic = renderProcedural({
      prompt: 'grass',
      seed: 2,
      style: 'pixel_art',
      width: 64,
      height: 64,
      grid: [3, 2],
    });
    expect([pic.image.width, pic.image.height]).toEqual([192, 128]);
    expect(pic.truth.kind).toBe('tile');
    const n = 32;
    const px = (tile: number, x: number, y: number) => {
      const tx = (tile % 3) * n + x;
      const ty = Math.floor(tile / 3) * n + y;
      return [...pic.logical.rgba.subarray((ty * 96 + tx) * 4, (ty * 96 + tx) * 4 + 4)].join();
    };
    let interiorDiff = 0;
    for (let k = 0; k < n; k++) {
      for (let t = 1; t < 6; t++) {
        expect(px(t, k, 0)).toBe(px(0, k, 0));
        expect(px(t, 0, k)).toBe(px(0, 0, k));
        expect(px(t, n - 1, k)).toBe(px(0, 0, k)); // left edge = right edge: tiles repeat
      }
      if (px(1, k, k) !== px(0, k, k)) interiorDiff++;
    }
    expect(interiorDiff).toBeGreaterThan(0);
  });
});

describe('procedural engine ground truth files', () => {
  it('writes <image>.truth.png and .truth.json only when asked', async () => {
    for (const writeGroundTruth of [true, false]) {
      const tmp = await tempDir();
      cleanups.push(tmp.remove);
      const worker = await startWorker({
        req: 'tcp://127.0.0.1:*',
        outputDir: tmp.dir,
        stepMs: 0,
        writeGroundTruth,
      });
      cleanups.push(() => worker.close());
      const client = await WireClient.connect(worker.reqEndpoint, worker.pubEndpoint);
      cleanups.push(() => client.close());
      const req = generate({ size: [256, 256], style: 'retro', prompt: 'bat' });
      await client.request(req);
      const complete = (await client.terminal(req.id as string)).at(-1) as Msg;
      const files = (await readdir(tmp.dir)).sort();
      const base = String(complete.image_path).split('/').at(-1)?.replace('.png', '') as string;
      if (!writeGroundTruth) {
        expect(files).toEqual([`${base}.png`]);
        continue;
      }
      expect(files).toEqual([`${base}.png`, `${base}.truth.json`, `${base}.truth.png`]);
      const truth = JSON.parse(await readFile(`${tmp.dir}/${base}.truth.json`, 'utf8'));
      expect(truth).toMatchObject({
        logicalSize: [24, 24],
        cells: [1, 1],
        cellSize: [256, 256],
        style: 'retro',
        kind: 'creature',
      });
      expect(Number.isInteger(truth.scale)).toBe(false);
      const meta = await sharp(`${tmp.dir}/${base}.truth.png`).metadata();
      expect([meta.width, meta.height, meta.channels]).toEqual([24, 24, 4]);
    }
  });
});
