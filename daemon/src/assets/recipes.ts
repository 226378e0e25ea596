import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { DaemonError, errorMessage } from '../errors.js';
import { parseYamlWithLines } from '../yaml-document.js';
import { assertSafeRelativeName } from './paths.js';

/**
 * The recipe file (`sprites.yaml` in the Bevy project): the sprites a game
 * wants, enough to regenerate each one. Described by shared/recipes.schema.json
 * (documentation and editor completion; this zod schema is what is enforced).
 *
 *   version: 1
 *   defaults: { style: pixel_art, size: [32, 32], steps: 30 }
 *   sprites:
 *     - name: slime
 *       prompt: green slime monster, side view
 *       palette: pico8
 *       seed: 42
 *       postprocess: { outline: auto }
 */

const size = z.tuple([z.number().int().min(1).max(4096), z.number().int().min(1).max(4096)]);

const RecipeFields = {
  prompt: z.string().min(3).max(2000),
  negative_prompt: z.string().optional(),
  style: z.string().min(1).optional(),
  /** Logical size of the finished sprite (or of one frame / tile) in pixels. */
  size: size.optional(),
  /** Size the model generates at (default 1024×1024). */
  resolution: size.optional(),
  palette: z
    .union([z.string().min(1), z.array(z.string().regex(/^#[0-9a-fA-F]{6}$/)).min(1)])
    .optional(),
  /** Same seed → same raw image; left out, it is derived from the name (stable). */
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .optional(),
  model: z.string().min(1).optional(),
  lora: z.string().min(1).optional(),
  steps: z.number().int().min(1).max(200).optional(),
  cfg_scale: z.number().min(0).max(50).optional(),
  /** An animation strip of this many frames (a sheet). */
  frames: z.number().int().min(2).max(64).optional(),
  /** A tileset of columns × rows tiles. */
  tileset: z
    .strictObject({
      columns: z.number().int().min(1).max(64),
      rows: z.number().int().min(1).max(64),
    })
    .optional(),
  /** Post-processing overrides (outline, colours, background, trim, ...), passed to the sprite pipeline. */
  postprocess: z.record(z.string(), z.unknown()).optional(),
  /** `character`: one figure in 4 or 8 facings with named animations, one sheet + atlas (generate_character). */
  kind: z.enum(['sprite', 'character']).optional(),
  /** character: 4 or 8 facings (default 4). */
  directions: z.union([z.literal(4), z.literal(8)]).optional(),
  /** character: named animations per facing (tag `<facing>_<name>`). */
  animations: z
    .array(
      z.strictObject({
        name: z.string().regex(/^[a-z][a-z0-9_]{0,31}$/),
        frames: z.number().int().min(1).max(16),
        duration_ms: z.number().int().min(10).max(10_000).optional(),
      }),
    )
    .max(8)
    .optional(),
  /** character: west-side facings mirrored from east-side ones (default true). */
  mirror: z.boolean().optional(),
  /**
   * Sprites this one must match (same character, colours, proportions): names of other
   * recipes or of deployed sprites. A referenced recipe is rebuilt first, and a change to
   * a referenced sprite marks this one for rebuild. The first one also gives the size and
   * palette unless `size` / `palette` are set.
   */
  reference: z.array(z.string().min(1)).min(1).max(4).optional(),
};

export const RecipeSchema = z.strictObject({ name: z.string().min(1), ...RecipeFields });
// reference is per sprite: as a default every sprite (the referenced one too) would reference it
const { reference: _reference, ...DefaultFields } = RecipeFields;
const DefaultsSchema = z.strictObject({ ...DefaultFields, prompt: RecipeFields.prompt.optional() });

export const RecipeFileSchema = z.strictObject({
  version: z.literal(1).default(1),
  defaults: DefaultsSchema.optional(),
  sprites: z.array(RecipeSchema).min(1),
});

export type Recipe = z.infer<typeof RecipeSchema>;

/** What the GPU worker is asked for; its hash keys the raw-output cache. */
export interface RecipeGeneration {
  prompt: string;
  negative_prompt?: string;
  style?: string;
  seed: number;
  model?: string;
  lora?: string;
  steps?: number;
  cfg_scale?: number;
  resolution: [number, number];
  frames?: number;
  tileset?: { columns: number; rows: number };
  /** A character set: the worker draws every (facing, animation) with the `pose` extension. */
  character?: CharacterRecipe;
  /** Names of the sprites this one must match (worker `reference_images`). */
  reference?: string[];
}

/** A character recipe's set: what the worker draws and how the sheet is laid out. */
export interface CharacterRecipe {
  directions: 4 | 8;
  animations: { name: string; frames: number; duration_ms?: number | undefined }[];
  mirror: boolean;
}

/** What the post-processing pipeline is told (no GPU needed to redo it). */
export interface ProcessSettings {
  style?: string;
  size?: [number, number];
  palette?: string | string[];
  frames?: number;
  tileset?: { columns: number; rows: number };
  /** A character set (frame durations included; they change no raw pixel). */
  character?: CharacterRecipe;
  postprocess: Record<string, unknown>;
}

/** One recipe with defaults applied, split into generation and processing. */
export interface ResolvedRecipe {
  name: string;
  generation: RecipeGeneration;
  processing: ProcessSettings;
  /** Hash of generation params: the raw cache key. */
  generationKey: string;
  /** Hash of everything: stored in the manifest entry (source.recipe_hash). */
  recipeHash: string;
}

/** JSON with keys sorted at every level, so equal values hash equally. */
export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const hashOf = (value: unknown) =>
  createHash('sha256').update(stableStringify(value)).digest('hex');

function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function resolveRecipe(recipe: Recipe, defaults: z.infer<typeof DefaultsSchema>): ResolvedRecipe {
  const r = {
    ...defaults,
    ...recipe,
    postprocess: { ...defaults.postprocess, ...recipe.postprocess },
  };
  const seed = r.seed ?? Number.parseInt(hashOf(`seed:${r.name}`).slice(0, 8), 16);
  const character: CharacterRecipe | undefined =
    r.kind === 'character'
      ? {
          directions: r.directions ?? 4,
          animations: (r.animations ?? []).map((a) => defined({ ...a })),
          mirror: r.mirror ?? true,
        }
      : undefined;
  const generation = defined({
    prompt: r.prompt,
    negative_prompt: r.negative_prompt,
    style: r.style,
    seed,
    model: r.model,
    lora: r.lora,
    steps: r.steps,
    cfg_scale: r.cfg_scale,
    resolution: r.resolution ?? [1024, 1024],
    frames: r.frames,
    tileset: r.tileset,
    // frame durations are post-processing only: a change of timing needs no GPU
    character: character && {
      ...character,
      animations: character.animations.map(({ name, frames }) => ({ name, frames })),
    },
    reference: r.reference,
  }) as RecipeGeneration;
  const processing = defined({
    style: r.style,
    size: r.size,
    palette: r.palette,
    frames: r.frames,
    tileset: r.tileset,
    character,
    postprocess: r.postprocess,
  }) as ProcessSettings;
  return {
    name: r.name,
    generation,
    processing,
    generationKey: hashOf(generation),
    recipeHash: hashOf({ generation, processing }),
  };
}

/**
 * Validate parsed recipe data. Throws DaemonError('VALIDATION') naming the
 * file, line (when known) and sprite, e.g.
 * `sprites.yaml:12 sprites[2] ("slime").size: expected array, got "32"`.
 */
export function parseRecipes(
  data: unknown,
  file: string,
  lineOf?: (path: (string | number)[]) => number | undefined,
): ResolvedRecipe[] {
  const parsed = RecipeFileSchema.safeParse(data ?? {});
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const line = lineOf?.(i.path as (string | number)[]);
      const idx = i.path[0] === 'sprites' && typeof i.path[1] === 'number' ? i.path[1] : undefined;
      const name =
        idx === undefined
          ? undefined
          : (data as { sprites?: { name?: unknown }[] })?.sprites?.[idx]?.name;
      const where = i.path
        .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
        .join('')
        .replace(/^\./, '');
      return `${file}${line ? `:${line}` : ''} ${where || '(top)'}${typeof name === 'string' ? ` ("${name}")` : ''}: ${i.message}`;
    });
    throw new DaemonError(
      'VALIDATION',
      `recipe file is invalid:\n${lines.join('\n')}\nfix it and save again (see shared/recipes.schema.json)`,
    );
  }
  const seen = new Set<string>();
  const resolved = parsed.data.sprites.map((recipe, i) => {
    try {
      assertSafeRelativeName(recipe.name);
    } catch (err) {
      throw new DaemonError(
        'VALIDATION',
        `${file}${lineOf?.(['sprites', i, 'name']) ? `:${lineOf(['sprites', i, 'name'])}` : ''} sprites[${i}].name: ${errorMessage(err)}`,
      );
    }
    if (seen.has(recipe.name)) {
      throw new DaemonError(
        'VALIDATION',
        `${file} sprites[${i}]: the name "${recipe.name}" appears twice; names must be unique`,
      );
    }
    seen.add(recipe.name);
    const characterOnly = (['directions', 'animations', 'mirror'] as const).filter(
      (k) => recipe[k] !== undefined,
    );
    if (recipe.kind !== 'character' && characterOnly.length > 0) {
      throw new DaemonError(
        'VALIDATION',
        `${file} sprites[${i}] ("${recipe.name}"): ${characterOnly.join(', ')} belong to kind: character; add kind: character or remove them`,
      );
    }
    if (
      recipe.kind === 'character' &&
      (recipe.frames !== undefined || recipe.tileset !== undefined)
    ) {
      throw new DaemonError(
        'VALIDATION',
        `${file} sprites[${i}] ("${recipe.name}"): a kind: character entry takes animations: [{name, frames}], not frames or tileset`,
      );
    }
    if (
      recipe.reference !== undefined &&
      (recipe.kind === 'character' || recipe.frames !== undefined || recipe.tileset !== undefined)
    ) {
      throw new DaemonError(
        'VALIDATION',
        `${file} sprites[${i}] ("${recipe.name}"): reference makes one sprite; remove reference, or kind: character / frames / tileset`,
      );
    }
    for (const [j, ref] of (recipe.reference ?? []).entries()) {
      const at = lineOf?.(['sprites', i, 'reference', j]);
      try {
        assertSafeRelativeName(ref, 'reference');
      } catch (err) {
        throw new DaemonError(
          'VALIDATION',
          `${file}${at ? `:${at}` : ''} sprites[${i}].reference[${j}] ("${recipe.name}"): ${errorMessage(err)}`,
        );
      }
      if (ref === recipe.name) {
        throw new DaemonError(
          'VALIDATION',
          `${file}${at ? `:${at}` : ''} sprites[${i}].reference[${j}] ("${recipe.name}"): a sprite cannot reference itself; name another sprite`,
        );
      }
    }
    if (recipe.frames !== undefined && recipe.tileset !== undefined) {
      throw new DaemonError(
        'VALIDATION',
        `${file} sprites[${i}] ("${recipe.name}"): give frames or tileset, not both`,
      );
    }
    return resolveRecipe(recipe, parsed.data.defaults ?? {});
  });
  referenceWaves(resolved); // a cycle is a recipe error, reported when the file is read
  return resolved;
}

/**
 * Recipes grouped into rebuild waves: a recipe comes after every recipe it references
 * (references to sprites that are not recipes are read from the manifest). Throws
 * DaemonError('VALIDATION') naming a reference cycle.
 */
export function referenceWaves(recipes: readonly ResolvedRecipe[]): ResolvedRecipe[][] {
  const byName = new Map(recipes.map((r) => [r.name, r]));
  const depth = new Map<string, number>();
  const visit = (r: ResolvedRecipe, path: string[]): number => {
    const known = depth.get(r.name);
    if (known !== undefined) return known;
    if (path.includes(r.name)) {
      const cycle = [...path.slice(path.indexOf(r.name)), r.name].join(' → ');
      throw new DaemonError(
        'VALIDATION',
        `recipe references form a cycle: ${cycle}; a sprite's reference must be built before it, so remove one of these references`,
      );
    }
    let d = 0;
    for (const ref of r.generation.reference ?? []) {
      const target = byName.get(ref);
      if (target !== undefined) d = Math.max(d, visit(target, [...path, r.name]) + 1);
    }
    depth.set(r.name, d);
    return d;
  };
  const waves: ResolvedRecipe[][] = [];
  for (const r of recipes) {
    const d = visit(r, []);
    const wave = waves[d] ?? [];
    wave.push(r);
    waves[d] = wave;
  }
  return waves.filter((w) => w !== undefined);
}

/** Read, parse (YAML or JSON) and validate a recipe file. Throws VALIDATION with file:line. */
export async function loadRecipes(file: string): Promise<ResolvedRecipe[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new DaemonError(
      'VALIDATION',
      `cannot read recipe file ${file}: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}; create it or pass --recipes FILE`,
      { cause: err },
    );
  }
  const { doc, counter } = parseYamlWithLines(text, `recipe file ${file}`, 'VALIDATION');
  const lineOf = (path: (string | number)[]) => {
    for (let n = path.length; n > 0; n--) {
      const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number] } | undefined;
      if (node?.range) return counter.linePos(node.range[0]).line;
    }
    return undefined;
  };
  return parseRecipes(doc.toJS(), file, lineOf);
}
