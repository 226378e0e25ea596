import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  type ProcessedAsset,
  type ReferenceInput,
  rebuild,
} from '../../daemon/src/assets/rebuild.js';
import type { RecipeGeneration } from '../../daemon/src/assets/recipes.js';
import { loadRecipes, parseRecipes } from '../../daemon/src/assets/recipes.js';
import { makePng } from '../support/png.js';
import { tempDir } from '../support/temp-dir.js';

// Recipes with `reference:` (issue 15): a referenced sprite is rebuilt before its
// dependants, which are given its deployed PNG; a change to it marks them stale.

let base: string;
let root: string;
let recipeFile: string;
let order: string[];
let given: Record<string, string[]>;

beforeEach(() => {
  base = tempDir('dgx-rebuild-ref-');
  root = join(base, 'assets');
  recipeFile = join(base, 'sprites.yaml');
  mkdirSync(root);
  order = [];
  given = {};
});

// listed dependants-first on purpose: the file order must not decide the build order
const recipes = (heroPrompt: string) => `
version: 1
defaults: { size: [16, 16] }
sprites:
  - name: hero_walk
    prompt: hero walking
    reference: [hero_idle]
  - name: hero_attack
    prompt: hero swinging a sword
    reference: [hero_walk, hero_idle]
  - name: hero_idle
    prompt: ${heroPrompt}
  - name: tree
    prompt: a pine tree
`;

async function run(dryRun = false) {
  return rebuild({
    recipes: await loadRecipes(recipeFile),
    assetsRoot: root,
    stateDir: join(base, 'state'),
    pipelineVersion: 'p1',
    concurrency: 4,
    dryRun,
    generate: async (p: RecipeGeneration, name: string, refs: ReferenceInput[] = []) => {
      order.push(name);
      given[name] = refs.map((r) => r.name);
      // the raw output depends on the prompt and on the references' pixels
      return makePng(16, 16, p.prompt.length + refs.reduce((n, r) => n + r.png.length, 0));
    },
    process: async (raw: Buffer): Promise<ProcessedAsset> => ({
      png: raw,
      width: 16,
      height: 16,
      kind: 'sprite',
      settings: {},
      pipelineVersion: 'p1',
    }),
  });
}

describe('rebuild with reference:', () => {
  it('builds a referenced sprite before its dependants and hands them its deployed PNG', async () => {
    writeFileSync(recipeFile, recipes('hero standing'));
    const r = await run();
    expect(r.failed).toEqual([]);
    expect(order.indexOf('hero_idle')).toBeLessThan(order.indexOf('hero_walk'));
    expect(order.indexOf('hero_walk')).toBeLessThan(order.indexOf('hero_attack'));
    expect(given.hero_walk).toEqual(['hero_idle']);
    expect(given.hero_attack).toEqual(['hero_walk', 'hero_idle']);
    expect(given.tree).toEqual([]);

    order = [];
    expect((await run()).rebuilt).toEqual([]);
    expect(order).toEqual([]);
  });

  it('a change to a referenced sprite marks its dependants (and theirs) for rebuild, nothing else', async () => {
    writeFileSync(recipeFile, recipes('hero standing'));
    await run();
    writeFileSync(recipeFile, recipes('hero standing, blue cape'));
    const dry = await run(true);
    expect(dry.reasons).toEqual({
      hero_idle: 'recipe changed',
      hero_walk: 'reference hero_idle is rebuilt first',
      hero_attack: 'reference hero_walk is rebuilt first',
    });
    order = [];
    const r = await run();
    expect(r.rebuilt.sort()).toEqual(['hero_attack', 'hero_idle', 'hero_walk']);
    expect(r.reasons.hero_walk).toBe('reference hero_idle changed');
    expect(r.skipped).toEqual(['tree']);
    expect(order).toEqual(['hero_idle', 'hero_walk', 'hero_attack']);
  });

  it('refuses a cycle, a self-reference and a hostile name, naming the entry', () => {
    const parse = (sprites: unknown[]) => () =>
      parseRecipes({ version: 1, sprites }, 'sprites.yaml');
    expect(
      parse([
        { name: 'a', prompt: 'aaa', reference: ['b'] },
        { name: 'b', prompt: 'bbb', reference: ['a'] },
      ]),
    ).toThrow(/cycle: a → b → a/);
    expect(parse([{ name: 'a', prompt: 'aaa', reference: ['a'] }])).toThrow(
      /cannot reference itself/,
    );
    expect(parse([{ name: 'a', prompt: 'aaa', reference: ['../x'] }])).toThrow(
      /sprites\[0\]\.reference\[0\].*"\.\." segments are not allowed/,
    );
  });

  it('a reference that is neither a recipe nor deployed fails only its dependant, with the fix', async () => {
    writeFileSync(
      recipeFile,
      'version: 1\nsprites:\n  - name: a\n    prompt: aaa\n    reference: [ghost]\n  - name: b\n    prompt: bbb\n',
    );
    const r = await run();
    expect(r.rebuilt).toEqual(['b']);
    expect(r.failed).toEqual([
      {
        name: 'a',
        error: expect.stringContaining('reference "ghost" is not deployed; add a recipe for it'),
      },
    ]);
  });
});
