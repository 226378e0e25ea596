import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadRecipes, parseRecipes } from '../../daemon/src/assets/recipes.js';
import { tempDir } from '../support/temp-dir.js';

const repo = new URL('../..', import.meta.url).pathname;
const example = join(repo, 'bevy-plugin/example-game/sprites.yaml');
const validate = new Ajv2020({ strict: false }).compile(
  JSON.parse(readFileSync(join(repo, 'shared/recipes.schema.json'), 'utf8')) as object,
);

describe('recipes', () => {
  it('loads the example game recipe file, which also passes the JSON Schema', async () => {
    const recipes = await loadRecipes(example);
    expect(recipes.map((r) => r.name)).toEqual(['player', 'slime', 'coin', 'tiles/grass']);
    expect(validate(parse(readFileSync(example, 'utf8')))).toBe(true);
    const coin = recipes.find((r) => r.name === 'coin');
    expect(coin?.generation).toMatchObject({
      prompt: 'spinning gold coin, animation frames',
      frames: 6,
      steps: 30,
    });
    expect(coin?.processing).toMatchObject({
      size: [16, 16],
      frames: 6,
      postprocess: { outline: 'none' },
    });
  });

  it('derives a stable seed from the name when none is given', () => {
    const a = parseRecipes({ sprites: [{ name: 'x', prompt: 'a thing' }] }, 'f')[0];
    const b = parseRecipes({ sprites: [{ name: 'x', prompt: 'a thing' }] }, 'f')[0];
    expect(a?.generation.seed).toBe(b?.generation.seed);
    expect(Number.isInteger(a?.generation.seed)).toBe(true);
  });

  it('keys the raw cache on generation only, the recipe hash on everything', () => {
    const [a, b] = parseRecipes(
      {
        sprites: [
          { name: 'a', prompt: 'a thing', seed: 1, palette: 'db32' },
          { name: 'b', prompt: 'a thing', seed: 1, palette: 'nes' },
        ],
      },
      'f',
    );
    expect(a?.generationKey).toBe(b?.generationKey);
    expect(a?.recipeHash).not.toBe(b?.recipeHash);
  });

  it.each([
    [{ sprites: [] }, /f \.?sprites: Too small/],
    [{ sprites: [{ name: 'x' }] }, /sprites\[0\]\.prompt \("x"\): Invalid input/],
    [{ sprites: [{ name: 'x', prompt: 'abc', size: '32' }] }, /sprites\[0\]\.size \("x"\)/],
    [{ sprites: [{ name: 'x', prompt: 'abc', colour: 1 }] }, /Unrecognized key: "colour"/],
    [
      { sprites: [{ name: '../x', prompt: 'abc' }] },
      /sprites\[0\]\.name: sprite name "\.\.\/x" rejected: "\.\." segments/,
    ],
    [
      {
        sprites: [
          { name: 'x', prompt: 'abc' },
          { name: 'x', prompt: 'abc' },
        ],
      },
      /the name "x" appears twice/,
    ],
    [
      { sprites: [{ name: 'x', prompt: 'abc', frames: 4, tileset: { columns: 2, rows: 2 } }] },
      /give frames or tileset, not both/,
    ],
  ])('refuses %j with a message naming the place', (data, message) => {
    expect(() => parseRecipes(data, 'f')).toThrow(message);
  });

  it('reports YAML syntax errors with the file and line', async () => {
    const file = join(tempDir('dgx-recipes-'), 'sprites.yaml');
    writeFileSync(file, 'sprites:\n  - name: a\n    prompt: [unclosed\n');
    await expect(loadRecipes(file)).rejects.toThrow(
      new RegExp(`recipe file ${file}:\\d+ is not valid YAML`),
    );
    writeFileSync(file, 'sprites:\n  - name: a\n    prompt: ok prompt\n    steps: lots\n');
    await expect(loadRecipes(file)).rejects.toThrow(
      `${file}:4 sprites[0].steps ("a"): Invalid input: expected number, received string`,
    );
  });
});
