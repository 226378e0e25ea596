import { readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeWorker, startFakeWorker } from '../support/fake-worker.js';
import { readRgba } from '../support/sprite-fixtures.js';
import { suiteTempDir, tempDir } from '../support/temp-dir.js';
import { type Daemon, type Stack, startDaemon, startStack } from './support/daemon.js';

// Image-conditioned generation (issue 15) through the SDK client against the built daemon
// (stdio) and the embedded procedural worker (real ZeroMQ): edit_sprite keeps every pixel
// outside the mask byte for byte and bumps the manifest revision; `reference` keeps the
// referenced sprite's size and palette; hostile names and paths are refused naming the field;
// a worker without the capability (the Python-like peer) fails the call at once.

const ENV = {
  DGX_PIXELS_VALIDATION_ALLOWED_RESOLUTIONS: '[128x128]',
  DGX_PIXELS_GENERATION_DEFAULT_RESOLUTION: '128x128',
  DGX_PIXELS_LOG_LEVEL: 'warning',
};

type Result = {
  status: string;
  error: string | null;
  output_path: string | null;
  deployed_path: string | null;
  width: number;
  height: number;
  revision?: number;
};

const dir = suiteTempDir('dgx-e2e-conditioning-', { keep: process.env.KEEP_E2E !== undefined });
let stack: Stack | undefined;
let daemon: Daemon;

beforeAll(async () => {
  stack = await startStack({ dir, stepMs: 1, env: ENV });
  daemon = stack.daemon;
});
afterAll(() => stack?.close());

const hex = (d: Uint8Array, p: number) =>
  `#${[d[p], d[p + 1], d[p + 2]].map((v) => (v as number).toString(16).padStart(2, '0')).join('')}`;

function opaqueColours(img: { data: Uint8Array }): Set<string> {
  const out = new Set<string>();
  for (let p = 0; p < img.data.length; p += 4)
    if ((img.data[p + 3] as number) >= 128) out.add(hex(img.data, p));
  return out;
}

function lowestOpaqueRow(img: { data: Uint8Array; width: number; height: number }): number {
  for (let y = img.height - 1; y >= 0; y--)
    for (let x = 0; x < img.width; x++)
      if ((img.data[(y * img.width + x) * 4 + 3] as number) >= 128) return y;
  return -1;
}

async function manifestEntry(name: string) {
  const m = JSON.parse(await readFile(join(dir, 'assets', 'asset_manifest.json'), 'utf8')) as {
    sprites: { name: string; revision: number; path: string; source?: { edited?: boolean } }[];
  };
  return m.sprites.find((s) => s.name === name);
}

async function call(d: Daemon, tool: string, args: Record<string, unknown>) {
  const res = await d.call(tool, { wait_s: 60, ...args });
  const text = (res.content?.[0] as { text?: string } | undefined)?.text ?? '';
  return { res, text, result: res.structuredContent as Result };
}

describe('image-conditioned generation against the embedded worker', () => {
  it('edit_sprite repaints only inside the mask and deploys a new revision', async () => {
    const made = await call(daemon, 'generate_sprite', {
      prompt: 'knight with a sword',
      size: [32, 32],
      seed: 11,
      name: 'hero',
      deploy: true,
    });
    expect(made.result.status, made.text).toBe('success');
    const before = await manifestEntry('hero');
    expect(before?.revision).toBe(1);
    const original = await readRgba(join(dir, 'assets', before?.path ?? ''));

    const mask = { x: 8, y: 0, width: 16, height: 12 };
    const edited = await call(daemon, 'edit_sprite', {
      name: 'hero',
      prompt: 'red wizard hat',
      mask,
      seed: 5,
    });
    expect(edited.result.status, edited.text).toBe('success');
    expect(edited.result.revision).toBe(2);
    const after = await manifestEntry('hero');
    expect(after?.revision).toBe(2);
    // marked, so rebuild_sprites keeps it instead of undoing it from the recipe
    expect(before?.source?.edited).toBeUndefined();
    expect(after?.source?.edited).toBe(true);
    const now = await readRgba(join(dir, 'assets', after?.path ?? ''));
    expect([now.width, now.height]).toEqual([original.width, original.height]);

    let outsideDiffer = 0;
    let insideDiffer = 0;
    for (let y = 0; y < now.height; y++) {
      for (let x = 0; x < now.width; x++) {
        const p = (y * now.width + x) * 4;
        const same = [0, 1, 2, 3].every((c) => now.data[p + c] === original.data[p + c]);
        const inside =
          x >= mask.x && x < mask.x + mask.width && y >= mask.y && y < mask.y + mask.height;
        if (!same && inside) insideDiffer++;
        if (!same && !inside) outsideDiffer++;
      }
    }
    expect(outsideDiffer).toBe(0);
    expect(insideDiffer).toBeGreaterThan(0);
    // the new pixels use the sprite's own colours (no palette given)
    const allowed = opaqueColours(original);
    expect([...opaqueColours(now)].filter((c) => !allowed.has(c))).toEqual([]);
  });

  it("reference keeps the referenced sprite's size and palette", async () => {
    const ref = await readRgba(join(dir, 'assets', (await manifestEntry('hero'))?.path ?? ''));
    const r = await call(daemon, 'generate_sprite', {
      prompt: 'knight walking to the left',
      reference: ['hero'],
      seed: 21,
    });
    expect(r.result.status, r.text).toBe('success');
    const out = await readRgba(r.result.output_path ?? '');
    expect([out.width, out.height]).toEqual([ref.width, ref.height]);
    const allowed = opaqueColours(ref);
    const used = [...opaqueColours(out)];
    expect(used.length).toBeGreaterThan(0);
    expect(used.filter((c) => !allowed.has(c))).toEqual([]);
    // the same anchor: feet on the reference's feet row
    expect(lowestOpaqueRow(out)).toBe(lowestOpaqueRow(ref));
  });

  it('a recipe with reference: is built after its reference, in its size and palette, and redone when it changes', async () => {
    const recipes = (cape: string) =>
      `version: 1\nsprites:\n  - name: mage_walk\n    prompt: mage walking\n    reference: [mage]\n  - name: mage\n    prompt: mage with a ${cape} cape\n    size: [24, 24]\n    seed: 2\n`;
    await writeFile(join(dir, 'sprites.yaml'), recipes('red'));
    const first = await daemon.call('rebuild_sprites', {});
    const report = first.structuredContent as { rebuilt: string[]; failed: unknown[] };
    expect(report.failed, JSON.stringify(first.content)).toEqual([]);
    expect(report.rebuilt).toEqual(['mage', 'mage_walk']);
    const mage = await readRgba(join(dir, 'assets', (await manifestEntry('mage'))?.path ?? ''));
    const walk = await readRgba(
      join(dir, 'assets', (await manifestEntry('mage_walk'))?.path ?? ''),
    );
    expect([walk.width, walk.height]).toEqual([24, 24]);
    const allowed = opaqueColours(mage);
    expect([...opaqueColours(walk)].filter((c) => !allowed.has(c))).toEqual([]);

    await writeFile(join(dir, 'sprites.yaml'), recipes('green'));
    const again = (await daemon.call('rebuild_sprites', {})).structuredContent as {
      rebuilt: string[];
      reasons: Record<string, string>;
    };
    expect(again.rebuilt).toEqual(['mage', 'mage_walk']);
    expect(again.reasons.mage_walk).toBe('reference mage changed');
  });

  it('refuses hostile names and paths, naming every bad field at once', async () => {
    const outside = tempDir('dgx-outside-');
    await writeFile(
      join(outside, 'secret.png'),
      await readFile(join(dir, 'assets', 'sprites', 'hero.png')),
    );
    await symlink(join(outside, 'secret.png'), join(dir, 'assets', 'link.png'));
    const r = await call(daemon, 'generate_sprite', {
      prompt: 'knight walking',
      reference: ['../x', join(dir, 'assets', 'link.png'), join(outside, 'secret.png')],
      init_image: '/etc/passwd',
    });
    expect(r.res.isError).toBe(true);
    expect(r.text).toContain('Validation error in reference[0]');
    expect(r.text).toContain('".." segments are not allowed');
    expect(r.text).toContain('Validation error in reference[1]');
    expect(r.text).toContain('symlink');
    expect(r.text).toContain('Validation error in reference[2]');
    expect(r.text).toContain('Validation error in init_image');
    expect(r.text).toContain('outside the project');

    const nul = await call(daemon, 'edit_sprite', {
      name: 'hero\0x',
      prompt: 'a hat',
      mask_path: 'a\0.png',
    });
    expect(nul.res.isError).toBe(true);
    expect(nul.text).toContain('Validation error in name');
    expect(nul.text).toContain('Validation error in mask_path');

    const mask = await call(daemon, 'edit_sprite', {
      name: 'hero',
      prompt: 'a hat',
      mask: { x: 30, y: 0, width: 8, height: 8 },
    });
    expect(mask.res.isError).toBe(true);
    expect(mask.text).toContain('Validation error in mask');
    expect(mask.text).toContain('32×32');
    expect((await manifestEntry('hero'))?.revision).toBe(2);
  });
});

describe('image conditioning against a worker without the capability', () => {
  let peer: FakeWorker;
  let plain: Daemon;
  beforeAll(async () => {
    peer = await startFakeWorker();
    plain = await startDaemon({
      dir,
      req: peer.req,
      pub: peer.pub,
      env: ENV,
      args: ['--state-dir', join(dir, 'state-plain')],
    });
  });
  afterAll(async () => {
    await plain?.close();
    await peer?.close();
  });

  it('edit_sprite fails at once naming the worker and init_image, and sends no generate', async () => {
    const t0 = Date.now();
    const r = await call(plain, 'edit_sprite', {
      name: 'hero',
      prompt: 'red wizard hat',
      mask: { x: 8, y: 0, width: 16, height: 12 },
    });
    expect(r.res.isError).toBe(true);
    expect(r.text).toContain('init_image');
    expect(r.text).toContain(peer.req);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(peer.requestsOf('generate')).toHaveLength(0);
    expect((await manifestEntry('hero'))?.revision).toBe(2);
  });
});
