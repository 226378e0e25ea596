import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeWorker, startFakeWorker } from '../support/fake-worker.js';
import { suiteTempDir } from '../support/temp-dir.js';
import { type Daemon, type Stack, startDaemon, startStack } from './support/daemon.js';

// generate_character through the SDK client against the built daemon (stdio) and the
// embedded procedural worker (real ZeroMQ): one sheet, one palette, one anchor, every
// tag in the atlas, one manifest entry; a re-deploy of the same bytes changes nothing.

const ENV = {
  DGX_PIXELS_VALIDATION_ALLOWED_RESOLUTIONS: '[128x128]',
  DGX_PIXELS_GENERATION_DEFAULT_RESOLUTION: '128x128',
  DGX_PIXELS_LOG_LEVEL: 'warning',
};

type Character = {
  seed: number;
  facings: string[];
  columns: number;
  rows: number;
  frame_width: number;
  frame_height: number;
  tags: Record<string, [number, number]>;
  palette: string[];
  anchor: { x: number; y: number };
  worker_jobs: number;
};
type Result = {
  status: string;
  error: string | null;
  output_path: string;
  atlas_path: string;
  kind: string;
  cached: boolean;
  manifest_updated: boolean;
  deployed_path: string | null;
  character: Character;
};
type Atlas = {
  frames: Record<string, { frame: { x: number; y: number; w: number; h: number } }>;
  meta: {
    image: string;
    size: { w: number; h: number };
    frameTags: { name: string; from: number; to: number }[];
  };
};

const dir = suiteTempDir('dgx-e2e-character-', { keep: process.env.KEEP_E2E !== undefined });
let stack: Stack | undefined;
let daemon: Daemon;

beforeAll(async () => {
  stack = await startStack({ dir, stepMs: 1, env: ENV });
  daemon = stack.daemon;
});
afterAll(() => stack?.close());

/** Frame i of the sheet as RGBA. */
interface Frames {
  count: number;
  w: number;
  h: number;
  frame(i: number): Uint8Array;
}

async function readFrames(path: string, c: Character): Promise<Frames> {
  const { data, info } = await sharp(path)
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  expect([info.width, info.height]).toEqual([c.columns * c.frame_width, c.rows * c.frame_height]);
  const w = c.frame_width;
  const h = c.frame_height;
  return {
    count: c.columns * c.rows,
    w,
    h,
    frame(i) {
      const out = new Uint8Array(w * h * 4);
      const fx = (i % c.columns) * w;
      const fy = Math.floor(i / c.columns) * h;
      for (let y = 0; y < h; y++) {
        const s = ((fy + y) * info.width + fx) * 4;
        out.set(data.subarray(s, s + w * 4), y * w * 4);
      }
      return out;
    },
  };
}

const hex = (d: Uint8Array, i: number) =>
  `#${[d[i], d[i + 1], d[i + 2]].map((v) => (v as number).toString(16).padStart(2, '0')).join('')}`;

/** Feet row and core centre column (columns at least half as opaque as the tallest), measured here independently of the daemon's code. */
function measure(d: Uint8Array, w: number, h: number): { bottom: number; centre: number } {
  const counts = new Array<number>(w).fill(0);
  let bottom = -1;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      if ((d[(y * w + x) * 4 + 3] as number) > 0) {
        counts[x] = (counts[x] as number) + 1;
        bottom = y;
      }
  const max = Math.max(...counts);
  const core = counts.flatMap((c, x) => (c >= max / 2 ? [x] : []));
  // the definition: the median of the core columns (a held-out sword barely moves it)
  return { bottom, centre: core[Math.floor((core.length - 1) / 2)] as number };
}

function flipped(d: Uint8Array, w: number, h: number): Uint8Array {
  const out = new Uint8Array(d.length);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      out.set(d.subarray((y * w + x) * 4, (y * w + x) * 4 + 4), (y * w + (w - 1 - x)) * 4);
  return out;
}

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

async function checkSet(r: Result, facings: string[]) {
  expect(r.status, r.error ?? '').toBe('success');
  expect(r.kind).toBe('sheet');
  const c = r.character;
  expect(c.facings).toEqual(facings);
  expect([c.columns, c.rows]).toEqual([5, facings.length]);
  // the atlas names every tag, with the right index ranges
  const atlas = JSON.parse(await readFile(r.atlas_path, 'utf8')) as Atlas;
  const expected = facings.flatMap((f, row) => [
    { name: f, from: row * 5, to: row * 5 },
    { name: `${f}_walk`, from: row * 5 + 1, to: row * 5 + 4 },
  ]);
  expect(atlas.meta.frameTags.map(({ name, from, to }) => ({ name, from, to }))).toEqual(expected);
  expect(Object.keys(atlas.frames)).toHaveLength(5 * facings.length);
  const sheet = await sharp(r.deployed_path ?? r.output_path).metadata();
  expect(atlas.meta.size).toEqual({ w: sheet.width, h: sheet.height });
  const frames = await readFrames(r.deployed_path ?? r.output_path, c);
  // one palette: every opaque pixel of every frame is a colour of the set's palette
  const palette = new Set(c.palette);
  const outside = new Set<string>();
  const bottoms: number[] = [];
  const centres: number[] = [];
  for (let i = 0; i < frames.count; i++) {
    const d = frames.frame(i);
    for (let p = 0; p < d.length; p += 4)
      if ((d[p + 3] as number) > 0 && !palette.has(hex(d, p))) outside.add(hex(d, p));
    const m = measure(d, frames.w, frames.h);
    expect(m.bottom, `frame ${i} is empty`).toBeGreaterThanOrEqual(0);
    bottoms.push(m.bottom);
    centres.push(m.centre);
  }
  expect([...outside]).toEqual([]);
  expect(c.palette.length).toBeLessThanOrEqual(64); // the pixel_art style's colour cap
  // one anchor: feet on one row, body on one column, within 1 px
  expect(Math.max(...bottoms) - Math.min(...bottoms)).toBeLessThanOrEqual(1);
  expect(Math.max(...centres) - Math.min(...centres)).toBeLessThanOrEqual(1);
  // real differences: facings differ from each other, walk frames from each other
  const still = (f: string) => frames.frame((c.tags[f] as [number, number])[0]);
  for (let a = 0; a < facings.length; a++)
    for (let b = a + 1; b < facings.length; b++)
      expect(
        same(still(facings[a] as string), still(facings[b] as string)),
        `${facings[a]} vs ${facings[b]}`,
      ).toBe(false);
  for (const f of facings) {
    const [from, to] = c.tags[`${f}_walk`] as [number, number];
    const walk = Array.from({ length: to - from + 1 }, (_, k) =>
      Buffer.from(frames.frame(from + k)).toString('hex'),
    );
    expect(new Set(walk).size, `${f}_walk frames`).toBeGreaterThanOrEqual(3);
  }
  // west is east mirrored (the default): equal up to a whole-pixel shift (each is anchored on its own core)
  const west = flipped(still('west'), frames.w, frames.h);
  const shiftedBy = (dx: number) => {
    const out = new Uint8Array(west.length);
    for (let y = 0; y < frames.h; y++)
      for (let x = 0; x < frames.w; x++) {
        const sx = x - dx;
        if (sx >= 0 && sx < frames.w)
          out.set(
            west.subarray((y * frames.w + sx) * 4, (y * frames.w + sx) * 4 + 4),
            (y * frames.w + x) * 4,
          );
      }
    return out;
  };
  const shifts = Array.from({ length: 2 * frames.w + 1 }, (_, k) => k - frames.w);
  expect(shifts.some((dx) => same(shiftedBy(dx), still('east')))).toBe(true);
  return frames;
}

describe('generate_character through the SDK client and the embedded worker', () => {
  it('4 directions + walk: one sheet, one palette, one anchor, every tag, one manifest entry; the same bytes again change nothing', async () => {
    const args = {
      prompt: 'red knight',
      directions: 4,
      animations: [{ name: 'walk', frames: 4 }],
      seed: 11,
      name: 'hero',
      deploy: true,
      wait_s: 120,
    };
    const first = await daemon.call('generate_character', args);
    const r = first.structuredContent as Result;
    await checkSet(r, ['south', 'west', 'east', 'north']);
    expect(r.character.worker_jobs).toBe(6); // 3 facings drawn (west mirrored) × (still + walk)
    expect(r.atlas_path).toBe(join(dir, 'assets', 'sprites', 'hero.json'));
    const manifestPath = join(dir, 'assets', 'asset_manifest.json');
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
    expect(manifest.sprites).toHaveLength(1);
    const entry = manifest.sprites[0];
    expect(entry).toMatchObject({
      name: 'hero',
      kind: 'sheet',
      path: 'sprites/hero.png',
      atlas: 'sprites/hero.json',
      revision: 1,
      grid: {
        columns: 5,
        rows: 4,
        frame_width: r.character.frame_width,
        frame_height: r.character.frame_height,
      },
    });
    const atlas = JSON.parse(await readFile(r.atlas_path, 'utf8')) as Atlas;
    expect(atlas.meta.image).toBe('hero.png');

    // the same set again (cache off by default: drawn again, deterministically): same bytes, nothing rewritten
    const before = await readFile(manifestPath, 'utf8');
    const mtime = (await stat(join(dir, 'assets', 'sprites', 'hero.png'))).mtimeMs;
    const again = (await daemon.call('generate_character', args)).structuredContent as Result;
    expect(again.status, again.error ?? '').toBe('success');
    expect(again.character.worker_jobs).toBe(6);
    expect(again.manifest_updated).toBe(false);
    expect(await readFile(manifestPath, 'utf8')).toBe(before);
    expect((await stat(join(dir, 'assets', 'sprites', 'hero.png'))).mtimeMs).toBe(mtime);
  });

  it('8 directions works the same, rows 0–3 the four facings, then the diagonals', async () => {
    const r = (
      await daemon.call('generate_character', {
        prompt: 'blue wizard',
        directions: 8,
        animations: [{ name: 'walk', frames: 4 }],
        size: [32, 32],
        wait_s: 120,
      })
    ).structuredContent as Result;
    await checkSet(r, [
      'south',
      'west',
      'east',
      'north',
      'south_west',
      'south_east',
      'north_west',
      'north_east',
    ]);
    expect([r.character.frame_width, r.character.frame_height]).toEqual([32, 32]);
    expect(r.character.worker_jobs).toBe(10); // 5 facings drawn × (still + walk)
    expect(r.character.anchor.y).toBe(31); // feet on the bottom row of a fixed-size frame
  });

  it('a kind: character recipe is built by rebuild_sprites; a palette change is redone from the cached raw frames without the GPU', async () => {
    const recipe = (palette: string) =>
      [
        'version: 1',
        'defaults: { resolution: [128, 128] }',
        'sprites:',
        '  - name: npc',
        '    kind: character',
        '    prompt: green archer',
        '    directions: 4',
        '    animations: [{ name: walk, frames: 4 }]',
        '    size: [32, 32]',
        `    palette: ${palette}`,
        '    seed: 5',
        '',
      ].join('\n');
    await writeFile(join(dir, 'sprites.yaml'), recipe('auto'));
    type Report = { rebuilt: string[]; generated: number; from_cache: number; failed: unknown[] };
    const first = (await daemon.call('rebuild_sprites', {})).structuredContent as Report;
    expect(first.failed).toEqual([]);
    expect(first).toMatchObject({ rebuilt: ['npc'], generated: 1, from_cache: 0 });
    const manifest = JSON.parse(await readFile(join(dir, 'assets', 'asset_manifest.json'), 'utf8'));
    const entry = manifest.sprites.find((e: { name: string }) => e.name === 'npc');
    expect(entry).toMatchObject({
      kind: 'sheet',
      atlas: 'sprites/npc.json',
      grid: { columns: 5, rows: 4, frame_width: 32, frame_height: 32 },
    });
    const atlas = JSON.parse(
      await readFile(join(dir, 'assets', 'sprites', 'npc.json'), 'utf8'),
    ) as Atlas;
    expect(atlas.meta.frameTags.map((t) => t.name)).toEqual(
      ['south', 'west', 'east', 'north'].flatMap((f) => [f, `${f}_walk`]),
    );

    await writeFile(join(dir, 'sprites.yaml'), recipe('pico-8'));
    const second = (await daemon.call('rebuild_sprites', {})).structuredContent as Report;
    expect(second.failed).toEqual([]);
    expect(second).toMatchObject({ rebuilt: ['npc'], generated: 0, from_cache: 1 });
    const { data } = await sharp(join(dir, 'assets', 'sprites', 'npc.png'))
      .ensureAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const pico8 = new Set(
      (
        (await daemon.call('list_styles', {})).structuredContent as {
          palettes: { name: string; colours?: string[]; colors?: string[] }[];
        }
      ).palettes
        .find((p) => p.name === 'pico-8')
        ?.colours?.map((c) => c.toLowerCase()) ?? [],
    );
    const used = new Set<string>();
    for (let p = 0; p < data.length; p += 4)
      if ((data[p + 3] as number) > 0) used.add(hex(data, p));
    expect(pico8.size).toBeGreaterThan(0);
    expect([...used].filter((c) => !pico8.has(c))).toEqual([]);
  });

  it('without the pose extension (a Python-like worker) the call fails at once, naming the worker and pose', async () => {
    const peer: FakeWorker = await startFakeWorker();
    const plain = await startDaemon({
      dir,
      req: peer.req,
      pub: peer.pub,
      env: ENV,
      args: ['--state-dir', join(dir, 'state-plain')],
    });
    try {
      const t0 = Date.now();
      const res = await plain.call('generate_character', { prompt: 'red knight', wait_s: 30 });
      expect(res.isError).toBe(true);
      const text = (res.content[0] as { text: string }).text;
      expect(text).toContain('"pose"');
      expect(text).toContain(peer.req);
      expect(text).toContain('dgx-pixels worker');
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(peer.requestsOf('generate')).toHaveLength(0);
      expect(peer.requestsOf('capabilities')).toHaveLength(1);
    } finally {
      await plain.close();
      await peer.close();
    }
  });
});
