import { z } from 'zod';
import type { Config } from '../config/schema.js';

/**
 * Tool argument schemas built from the config's validation limits. Each check's
 * message is the seed's sentence ("Prompt must be at least 3 characters");
 * tool-errors.ts prefixes "Validation error in <field>: " and adds the value
 * received and the fix. The same schemas become the tools' JSON Schema, so a
 * client sees the limits before it calls.
 */

/** Python prints floats with a decimal point ("1.0"); keep the seed's wording. */
export function pyFloat(x: number): string {
  return Number.isInteger(x) ? x.toFixed(1) : String(x);
}

const typeError = (label: string, expected: string) => (issue: { input?: unknown }) =>
  issue.input === undefined ? `${label} is required` : `${label} must be ${expected}`;

/** Sprite names as the manifest accepts them (assets/manifest-schema.ts SPRITE_NAME). */
export const SPRITE_NAME_RE =
  /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}(\/[A-Za-z0-9][A-Za-z0-9_.-]{0,63}){0,3}$/;

export function promptField(v: Config['validation']) {
  return z
    .string({ error: typeError('Prompt', 'a string') })
    .refine((s) => s.trim().length > 0, { error: 'Prompt cannot be empty', abort: true })
    .refine((s) => s.length >= v.min_prompt_length, {
      error: `Prompt must be at least ${v.min_prompt_length} characters`,
      abort: true,
    })
    .refine((s) => s.length <= v.max_prompt_length, {
      error: `Prompt must be at most ${v.max_prompt_length} characters`,
    })
    .describe(
      `What the sprite shows, ${v.min_prompt_length}–${v.max_prompt_length} characters, e.g. "knight with a sword"`,
    );
}

/** Generation arguments shared by generate_sprite and generate_batch (the seed's). */
export function commonGenerationShape(config: Config) {
  const v = config.validation;
  const styles = v.allowed_styles as [string, ...string[]];
  const resolutions = v.allowed_resolutions as [string, ...string[]];
  return {
    style: z
      .enum(styles, { error: `Style must be one of: ${styles.join(', ')}` })
      .default(styles.includes('pixel_art') ? 'pixel_art' : styles[0])
      .describe(
        'Art style preset (prompt prefix and post-processing defaults); list_styles describes each',
      ),
    resolution: z
      .enum(resolutions, { error: `Resolution must be one of: ${resolutions.join(', ')}` })
      .default(
        resolutions.includes(config.generation.default_resolution)
          ? config.generation.default_resolution
          : resolutions[0],
      )
      .describe('Size of the raw model output (WIDTHxHEIGHT); the sprite is downscaled from it'),
    steps: z
      .number({ error: typeError('Steps', 'an integer') })
      .int({ error: 'Steps must be an integer' })
      .min(v.min_steps, { error: `Steps must be at least ${v.min_steps}` })
      .max(v.max_steps, { error: `Steps must be at most ${v.max_steps}` })
      .optional()
      .describe(`Sampling steps (default ${config.generation.default_steps})`),
    cfg_scale: z
      .number({ error: typeError('CFG scale', 'a number') })
      .min(v.min_cfg_scale, { error: `CFG scale must be at least ${pyFloat(v.min_cfg_scale)}` })
      .max(v.max_cfg_scale, { error: `CFG scale must be at most ${pyFloat(v.max_cfg_scale)}` })
      .optional()
      .describe(`Prompt adherence (default ${pyFloat(config.generation.default_cfg_scale)})`),
  };
}

const size2 = (label: string, min: number, max: number) =>
  z
    .tuple([z.number().int().min(min).max(max), z.number().int().min(min).max(max)], {
      error: `${label} must be [width, height], integers in ${min}..${max}`,
    })
    .describe(`${label} [width, height], integers ${min}..${max}`);

const OUTLINE_ERROR = 'Outline must be true, false or a colour "#rrggbb"';

/** Our extensions of generate_sprite / generate_batch (all optional). */
export function spriteOptionsShape(config: Config) {
  return {
    postprocess: z
      .boolean({ error: 'postprocess must be true or false' })
      .default(true)
      .describe('false returns the raw model output alone, without pixel-art post-processing'),
    size: size2('Size', 4, 1024).optional(),
    palette: z
      .string({ error: typeError('Palette', 'a palette name') })
      .min(1, { error: 'Palette must be a palette name' })
      .optional()
      .describe(
        'Snap colours to a named palette (list_styles lists them), or "project": the colours of the sprites already deployed in the game',
      ),
    colors: z
      .number({ error: typeError('Colors', 'an integer') })
      .int({ error: 'Colors must be an integer' })
      .min(2, { error: 'Colors must be at least 2' })
      .max(256, { error: 'Colors must be at most 256' })
      .optional()
      .describe('Most colours in the sprite, 2..256'),
    remove_background: z
      .boolean({ error: 'remove_background must be true or false' })
      .optional()
      .describe('Make the background transparent (real alpha, not a painted checkerboard)'),
    outline: z
      .union([z.boolean(), z.string().regex(/^#[0-9a-fA-F]{6}$/, { error: OUTLINE_ERROR })], {
        error: OUTLINE_ERROR,
      })
      .optional()
      .describe('Draw a 1 px outline (true = dark outline, or a "#rrggbb" colour)'),
    animation_frames: z
      .number({ error: typeError('Animation frames', 'an integer') })
      .int({ error: 'Animation frames must be an integer' })
      .min(1, { error: 'Animation frames must be at least 1' })
      .max(64, { error: 'Animation frames must be at most 64' })
      .optional()
      .describe('Frames of an animation strip (sprite sheet, one row)'),
    tileset_grid: z
      .tuple([z.number().int().min(1).max(32), z.number().int().min(1).max(32)], {
        error: 'Tileset grid must be [columns, rows], integers in 1..32',
      })
      .optional()
      .describe('Generate a tileset of [columns, rows] tiles'),
    seed: z
      .number({ error: typeError('Seed', 'an integer') })
      .int({ error: 'Seed must be an integer' })
      .min(0, { error: 'Seed must be at least 0' })
      .max(4294967295, { error: 'Seed must be at most 4294967295' })
      .optional()
      .describe('Fixed seed for a repeatable result (enables the raw-output cache)'),
    negative_prompt: z
      .string({ error: typeError('Negative prompt', 'a string') })
      .max(config.validation.max_prompt_length, {
        error: `Negative prompt must be at most ${config.validation.max_prompt_length} characters`,
      })
      .optional()
      .describe('What the sprite must not show'),
  };
}

const noNul = (label: string) =>
  z
    .string({ error: typeError(label, 'a string') })
    .min(1, { error: `${label} must not be empty` })
    .refine((v) => !v.includes('\0'), { error: `${label} contains a NUL byte; remove it` });

/** 0..1: how much of the init image (or the masked part of an edit) may change. */
export function strengthField(defaultStrength: number) {
  return z
    .number({ error: typeError('strength', 'a number from 0 to 1') })
    .min(0, { error: 'strength must be at least 0' })
    .max(1, { error: 'strength must be at most 1' })
    .optional()
    .describe(
      `How much may change, 0..1: 0 keeps the input image, 1 redraws it freely (default ${defaultStrength})`,
    );
}

/** Image conditioning of generate_sprite and generate_batch (issue 15). */
export function conditioningShape(limits: { maxReferences: number; initStrength: number }) {
  return {
    reference: z
      .array(noNul('reference'), { error: 'reference must be a list of sprite names or PNG paths' })
      .min(1, { error: 'reference must name at least one sprite; leave it out for none' })
      .max(limits.maxReferences, {
        error: `reference takes at most ${limits.maxReferences} sprites`,
      })
      .optional()
      .describe(
        `Up to ${limits.maxReferences} sprites the new one must match (same character, colours, proportions): deployed sprite names ("hero") or PNG paths ending in .png inside the project. ` +
          "The first one also sets the result's size, palette and anchor unless size / palette are given. Needs a worker that lists the reference_images capability.",
      ),
    init_image: noNul('init_image')
      .optional()
      .describe(
        'A PNG path (inside the project) to start from instead of noise (img2img); strength says how much may change. ' +
          "A sprite-sized image (≤ 256 px a side) also sets the result's size, palette and anchor when there is no reference. Needs a worker that lists the init_image capability.",
      ),
    strength: strengthField(limits.initStrength).describe(
      `With init_image: how much may change, 0..1 (0 keeps it, 1 redraws freely; default ${limits.initStrength})`,
    ),
  };
}

export function waitField(config: Config) {
  return z
    .number({ error: typeError('wait_s', 'a number of seconds') })
    .min(0, { error: 'wait_s must be at least 0' })
    .max(3600, { error: 'wait_s must be at most 3600' })
    .default(config.generation.default_wait_s)
    .describe(
      `Longest this call waits, in seconds (default ${config.generation.default_wait_s}); then it answers {status: "running", job_id} and the job goes on. Keep it below your client's tool-call time-out.`,
    );
}

export const spriteNameField = z
  .string({ error: typeError('Sprite name', 'a string') })
  .regex(SPRITE_NAME_RE, {
    error:
      'Sprite name must be letters, digits, "_", "-" or "." (up to 64, "/" between up to 4 parts)',
  })
  .describe('Name in the manifest and file name, e.g. "knight_idle" or "enemies/slime"');

export const jobIdField = z
  .string({ error: typeError('job_id', 'a job id string') })
  .min(1, { error: 'job_id must be a job id from generate_sprite or list_jobs' })
  .describe('A job id returned by generate_sprite, generate_batch or list_jobs');

export function thumbnailFields() {
  return {
    thumbnail: z
      .boolean({ error: 'thumbnail must be true or false' })
      .default(false)
      .describe('Also return a small inline PNG of the result (capped in size and bytes)'),
    thumbnail_size: z
      .number({ error: typeError('thumbnail_size', 'an integer') })
      .int({ error: 'thumbnail_size must be an integer' })
      .min(16, { error: 'thumbnail_size must be at least 16' })
      .max(512, { error: 'thumbnail_size must be at most 512' })
      .default(256)
      .describe('Longest side of the inline thumbnail in px'),
  };
}
