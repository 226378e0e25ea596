import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { deploySprite } from '../../daemon/src/assets/deploy.js';
import { readManifest } from '../../daemon/src/assets/manifest.js';
import {
  type ProcessedAsset,
  type RebuildEvent,
  rebuild,
} from '../../daemon/src/assets/rebuild.js';
import type { ProcessSettings, RecipeGeneration } from '../../daemon/src/assets/recipes.js';
import { loadRecipes } from '../../daemon/src/assets/recipes.js';
import { makePng } from '../support/png.js';
import { tempDir } from '../support/temp-dir.js';

// rebuild with counting fakes for the GPU and the pipeline: it must do the
// minimum — nothing for unchanged recipes, no GPU for processing-only changes.

let base: string;
let root: string;
let state: string;
let recipeFile: string;
let calls: { generate: string[]; process: string[] };

beforeEach(() => {
  base = tempDir('dgx-rebuild-');
  root = join(base, 'assets');
  state = join(base, 'state');
  recipeFile = join(base, 'sprites.yaml');
  mkdirSync(root);
  calls = { generate: [], process: [] };
});

const RECIPES = `
version: 1
defaults:
  style: pixel_art
  size: [16, 16]
  steps: 20
sprites:
  - name: slime
    prompt: green slime monster
    seed: 42
    palette: pico8
  - name: knight
    prompt: armoured knight, side view
    postprocess: { outline: auto }
  - name: coin
    prompt: spinning gold coin
    frames: 4
`;

async function run(extra: Partial<Parameters<typeof rebuild>[0]> = {}, pipelineVersion = 'p1') {
  const events: RebuildEvent[] = [];
  const result = await rebuild({
    recipes: await loadRecipes(recipeFile),
    assetsRoot: root,
    stateDir: state,
    pipelineVersion,
    concurrency: 3,
    generate: async (params: RecipeGeneration, name) => {
      calls.generate.push(name);
      return makePng(32, 32, params.seed);
    },
    process: async (raw: Buffer, settings: ProcessSettings, name): Promise<ProcessedAsset> => {
      calls.process.push(name);
      // Output depends on the raw bytes and the settings, like the real pipeline.
      const seed = raw.length + JSON.stringify(settings).length;
      const frames = settings.frames ?? 1;
      return {
        png: makePng(16 * frames, 16, seed),
        width: 16 * frames,
        height: 16,
        kind: frames > 1 ? 'sheet' : 'sprite',
        ...(frames > 1
          ? { grid: { columns: frames, rows: 1, frame_width: 16, frame_height: 16 } }
          : {}),
        settings: { ...settings.postprocess, palette: settings.palette ?? 'auto' },
        pipelineVersion,
      };
    },
    onEvent: (e) => events.push(e),
    ...extra,
  });
  return { result, events };
}

describe('rebuild', () => {
  it('builds every recipe once, then does nothing while nothing changes', async () => {
    writeFileSync(recipeFile, RECIPES);
    const first = await run();
    expect(first.result.rebuilt.sort()).toEqual(['coin', 'knight', 'slime']);
    expect(calls.generate.sort()).toEqual(['coin', 'knight', 'slime']);
    const manifest = (await readManifest(join(root, 'asset_manifest.json'))).manifest;
    expect(manifest.sprites.find((e) => e.name === 'coin')).toMatchObject({
      kind: 'sheet',
      grid: { columns: 4 },
    });
    expect(manifest.sprites.find((e) => e.name === 'slime')?.source).toMatchObject({
      prompt: 'green slime monster',
      seed: 42,
      steps: 20,
      pipeline_version: 'p1',
    });

    calls = { generate: [], process: [] };
    const second = await run();
    expect(second.result).toMatchObject({ rebuilt: [], generated: 0, fromCache: 0 });
    expect(second.result.skipped.sort()).toEqual(['coin', 'knight', 'slime']);
    expect(calls).toEqual({ generate: [], process: [] });
  });

  it('reprocesses from the raw cache, without the GPU, when only post-processing changed', async () => {
    writeFileSync(recipeFile, RECIPES);
    await run();
    calls = { generate: [], process: [] };
    writeFileSync(recipeFile, RECIPES.replace('palette: pico8', 'palette: db32'));
    const { result } = await run();
    expect(calls).toEqual({ generate: [], process: ['slime'] });
    expect(result).toMatchObject({
      rebuilt: ['slime'],
      generated: 0,
      fromCache: 1,
      reasons: { slime: 'recipe changed' },
    });
    const slime = (await readManifest(join(root, 'asset_manifest.json'))).manifest.sprites.find(
      (e) => e.name === 'slime',
    );
    expect(slime?.revision).toBe(2);
  });

  it('generates again when a generation parameter (the seed) changed', async () => {
    writeFileSync(recipeFile, RECIPES);
    await run();
    calls = { generate: [], process: [] };
    writeFileSync(recipeFile, RECIPES.replace('seed: 42', 'seed: 43'));
    await run();
    expect(calls).toEqual({ generate: ['slime'], process: ['slime'] });
  });

  it('reprocesses everything from cache after a pipeline version change', async () => {
    writeFileSync(recipeFile, RECIPES);
    await run();
    calls = { generate: [], process: [] };
    const { result } = await run({}, 'p2');
    expect(calls.generate).toEqual([]);
    expect(calls.process.sort()).toEqual(['coin', 'knight', 'slime']);
    expect(result.reasons.slime).toBe('pipeline p1 → p2');
  });

  it('redoes a deleted or hand-edited PNG', async () => {
    writeFileSync(recipeFile, RECIPES);
    await run();
    calls = { generate: [], process: [] };
    rmSync(join(root, 'sprites', 'knight.png'));
    writeFileSync(join(root, 'sprites', 'coin.png'), makePng(4, 4, 99));
    const { result } = await run();
    expect(result.reasons).toEqual({ knight: 'file missing', coin: 'file modified' });
    expect(calls.generate).toEqual([]);
    expect(readFileSync(join(root, 'sprites', 'knight.png')).length).toBeGreaterThan(0);
  });

  it('keeps a sprite edited with edit_sprite, saying why, even when its recipe or the pipeline changed; force redoes it', async () => {
    writeFileSync(recipeFile, RECIPES);
    await run();
    // what edit_sprite deploys: the next revision, its source marked edited (no recipe hash)
    const edited = makePng(16, 16, 1234);
    await deploySprite({
      assetsRoot: root,
      name: 'slime',
      png: edited,
      stateDir: state,
      source: { prompt: 'a crown on the slime', edited: true },
    });
    calls = { generate: [], process: [] };
    writeFileSync(recipeFile, RECIPES.replace('palette: pico8', 'palette: db32'));
    const later = await run({}, 'p2');
    expect(later.result.rebuilt.sort()).toEqual(['coin', 'knight']);
    expect(later.result.skipped).toEqual(['slime']);
    expect(later.result.kept.slime).toMatch(
      /^edited with edit_sprite \(revision 2\) after it was built; it would be redone \(recipe changed\) — force: true rebuilds it from the recipe$/,
    );
    expect(later.events).toContainEqual({
      name: 'slime',
      state: 'skipped',
      detail: later.result.kept.slime,
    });
    expect(calls.process).not.toContain('slime');
    expect(Buffer.compare(readFileSync(join(root, 'sprites', 'slime.png')), edited)).toBe(0);
    const dry = await run({ dryRun: true }, 'p2');
    expect(Object.keys(dry.result.kept)).toEqual(['slime']);
    const forced = await run({ only: ['slime'], force: true }, 'p2');
    expect(forced.result.rebuilt).toEqual(['slime']);
    expect(forced.result.kept).toEqual({});
    const slime = (await readManifest(join(root, 'asset_manifest.json'))).manifest.sprites.find(
      (e) => e.name === 'slime',
    );
    expect(slime?.source?.edited).toBeUndefined();
    expect(slime?.revision).toBe(3);
  });

  it('honours --only, --force and --regenerate', async () => {
    writeFileSync(recipeFile, RECIPES);
    await run();
    calls = { generate: [], process: [] };
    await run({ only: ['knight'], force: true });
    expect(calls).toEqual({ generate: [], process: ['knight'] });
    calls = { generate: [], process: [] };
    await run({ only: ['coin'], regenerate: true });
    expect(calls).toEqual({ generate: ['coin'], process: ['coin'] });
    await expect(run({ only: ['dragon'] })).rejects.toThrow(
      '--only names not in the recipe file: dragon; known: slime, knight, coin',
    );
  });

  it('dry run lists the work and does none of it', async () => {
    writeFileSync(recipeFile, RECIPES);
    const { result } = await run({ dryRun: true });
    expect(result.reasons).toEqual({ slime: 'new', knight: 'new', coin: 'new' });
    expect(calls).toEqual({ generate: [], process: [] });
  });

  it('keeps going when one recipe fails, and reports it', async () => {
    writeFileSync(recipeFile, RECIPES);
    const { result, events } = await run({
      generate: async (p, name) => {
        calls.generate.push(name);
        if (name === 'knight') throw new Error('worker said: out of memory');
        return makePng(32, 32, p.seed);
      },
    });
    expect(result.failed).toEqual([{ name: 'knight', error: 'worker said: out of memory' }]);
    expect(result.rebuilt.sort()).toEqual(['coin', 'slime']);
    expect(events).toContainEqual({
      name: 'knight',
      state: 'failed',
      detail: 'worker said: out of memory',
    });
  });

  it('runs jobs concurrently', async () => {
    writeFileSync(recipeFile, RECIPES);
    let inFlight = 0;
    let most = 0;
    await run({
      generate: async (p) => {
        most = Math.max(most, ++inFlight);
        await new Promise((r) => setTimeout(r, 50));
        inFlight--;
        return makePng(32, 32, p.seed);
      },
    });
    expect(most).toBe(3);
  });

  it('tells a caller without recipes or a GPU what to call instead', async () => {
    await expect(rebuild({ assetsRoot: root } as never)).rejects.toThrow(
      'rebuild() needs loaded recipes and injected generate/process functions; call runRebuild',
    );
  });
});
