import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ResolvedRecipe } from '../../daemon/src/assets/recipes.js';
import { type RecipeWatcher, watchRecipes } from '../../daemon/src/assets/watch.js';
import { errorMessage } from '../../daemon/src/errors.js';
import { tempDir } from '../support/temp-dir.js';

let dir: string;
let file: string;
let watcher: RecipeWatcher | undefined;
beforeEach(() => {
  dir = tempDir('dgx-watch-');
  file = join(dir, 'sprites.yaml');
});
afterEach(async () => {
  await watcher?.close();
});

const recipe = (prompt: string) => `sprites:\n  - name: slime\n    prompt: ${prompt}\n`;

/** Poll until `check` is true; fail with `what` after 10 s. */
async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within 10 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('watchRecipes', () => {
  it('runs at start and after each save, survives a bad edit and keeps watching', async () => {
    writeFileSync(file, recipe('green slime'));
    const runs: ResolvedRecipe[][] = [];
    const errors: string[] = [];
    watcher = watchRecipes({
      recipePath: file,
      debounceMs: 50,
      onRecipes: async (r) => {
        runs.push(r);
      },
      onError: (e) => errors.push(errorMessage(e)),
    });
    await watcher.ready;
    await until(() => runs.length === 1, 'the initial run');
    expect(runs[0]?.[0]?.generation.prompt).toBe('green slime');

    writeFileSync(file, 'sprites:\n  - name: slime\n    prompt: [broken\n');
    await until(() => errors.length === 1, 'the error report of a broken save');
    expect(errors[0]).toMatch(/recipe file .*sprites\.yaml:\d+ is not valid YAML/);

    // Editors save by writing a temp file and renaming it over the original.
    writeFileSync(join(dir, 'tmp.yaml'), recipe('blue slime'));
    renameSync(join(dir, 'tmp.yaml'), file);
    await until(() => runs.length === 2, 'the run after fixing the file');
    expect(runs[1]?.[0]?.generation.prompt).toBe('blue slime');
  });

  it('folds a burst of saves into one run and never overlaps runs', async () => {
    writeFileSync(file, recipe('one'));
    let active = 0;
    let overlapped = false;
    const prompts: string[] = [];
    watcher = watchRecipes({
      recipePath: file,
      debounceMs: 150,
      initialRun: false,
      onRecipes: async (r) => {
        overlapped ||= active > 0;
        active++;
        prompts.push(r[0]?.generation.prompt ?? '');
        await new Promise((res) => setTimeout(res, 300));
        active--;
      },
      onError: (e) => {
        throw e;
      },
    });
    await watcher.ready;
    for (const p of ['two', 'three', 'four']) {
      writeFileSync(file, recipe(p));
      await new Promise((r) => setTimeout(r, 20));
    }
    await until(() => prompts.length >= 1, 'a run after the burst');
    writeFileSync(file, recipe('five')); // during the run: exactly one more run after it
    await until(() => prompts.length >= 2, 'the follow-up run');
    await new Promise((r) => setTimeout(r, 600));
    expect(prompts).toEqual(['four', 'five']);
    expect(overlapped).toBe(false);
  });
});
