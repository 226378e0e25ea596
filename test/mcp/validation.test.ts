import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstText, type Harness, inMemoryHarness } from './support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await inMemoryHarness();
});
afterAll(async () => {
  await h.close();
});

const ok = { prompt: 'knight with a sword' };

// [tool, arguments, exact message or pattern of the first text block]
const BAD: [string, Record<string, unknown>, string | RegExp][] = [
  [
    'generate_sprite',
    {},
    'Validation error in prompt: Prompt is required; got nothing. Describe the sprite in a few words, e.g. "knight with a sword".',
  ],
  [
    'generate_sprite',
    { prompt: 'ab' },
    'Validation error in prompt: Prompt must be at least 3 characters; got "ab" (2 characters). Describe the sprite in a few words, e.g. "knight with a sword".',
  ],
  [
    'generate_sprite',
    { prompt: '   ' },
    /^Validation error in prompt: Prompt cannot be empty; got/,
  ],
  [
    'generate_sprite',
    { prompt: 'x'.repeat(501) },
    /^Validation error in prompt: Prompt must be at most 500 characters; got "x{57}\.\.\." \(501 characters\)/,
  ],
  [
    'generate_sprite',
    { prompt: 42 },
    'Validation error in prompt: Prompt must be a string; got 42. Describe the sprite in a few words, e.g. "knight with a sword".',
  ],
  [
    'generate_sprite',
    { ...ok, style: 'anime' },
    'Validation error in style: Style must be one of: pixel_art, 16bit, 8bit, retro, game_sprite; got "anime" (5 characters). Pick one of the listed styles (list_styles describes them).',
  ],
  [
    'generate_sprite',
    { ...ok, resolution: '640x480' },
    /^Validation error in resolution: Resolution must be one of: 512x512, 1024x1024, 2048x2048; got "640x480"/,
  ],
  [
    'generate_sprite',
    { ...ok, steps: 5 },
    'Validation error in steps: Steps must be at least 10; got 5. Leave steps out for the default.',
  ],
  [
    'generate_sprite',
    { ...ok, steps: 101 },
    'Validation error in steps: Steps must be at most 100; got 101. Leave steps out for the default.',
  ],
  [
    'generate_sprite',
    { ...ok, steps: 20.5 },
    /^Validation error in steps: Steps must be an integer; got 20\.5/,
  ],
  [
    'generate_sprite',
    { ...ok, steps: '30' },
    /^Validation error in steps: Steps must be an integer; got "30"/,
  ],
  [
    'generate_sprite',
    { ...ok, cfg_scale: 0.5 },
    'Validation error in cfg_scale: CFG scale must be at least 1.0; got 0.5. Leave cfg_scale out for the default.',
  ],
  [
    'generate_sprite',
    { ...ok, cfg_scale: 21 },
    'Validation error in cfg_scale: CFG scale must be at most 20.0; got 21. Leave cfg_scale out for the default.',
  ],
  ['generate_sprite', { ...ok, lora: '' }, /^Validation error in lora: /],
  [
    'generate_sprite',
    { ...ok, output_path: 'out.jpg' },
    /^Validation error in output_path: output_path must end in \.png; got "out\.jpg"/,
  ],
  [
    'generate_sprite',
    { ...ok, output_path: '/etc/evil.png' },
    /^Validation error in output_path: \/etc\/evil\.png is outside the project; write inside /,
  ],
  [
    'generate_sprite',
    { ...ok, postprocess: 'no' },
    /^Validation error in postprocess: postprocess must be true or false/,
  ],
  [
    'generate_sprite',
    { ...ok, size: [32] },
    /^Validation error in size: Size must be \[width, height\], integers in 4\.\.1024/,
  ],
  [
    'generate_sprite',
    { ...ok, size: [2, 2] },
    /^Validation error in size: .* \(at size\.0\); got 2\. Example: \[32, 32\]\./,
  ],
  [
    'generate_sprite',
    { ...ok, palette: 'rainbow' },
    /^Validation error in palette: Palette must be one of: .*; got "rainbow"\. Call list_styles/,
  ],
  [
    'generate_sprite',
    { ...ok, colors: 1 },
    /^Validation error in colors: Colors must be at least 2; got 1\./,
  ],
  [
    'generate_sprite',
    { ...ok, remove_background: 'yes' },
    /^Validation error in remove_background: remove_background must be true or false/,
  ],
  [
    'generate_sprite',
    { ...ok, outline: 'red' },
    /^Validation error in outline: Outline must be true, false or a colour "#rrggbb"; got "red"/,
  ],
  [
    'generate_sprite',
    { ...ok, animation_frames: 0 },
    /^Validation error in animation_frames: Animation frames must be at least 1; got 0\./,
  ],
  ['generate_sprite', { ...ok, tileset_grid: [0, 2] }, /^Validation error in tileset_grid: /],
  [
    'generate_sprite',
    { ...ok, seed: -1 },
    /^Validation error in seed: Seed must be at least 0; got -1\./,
  ],
  [
    'generate_sprite',
    { ...ok, negative_prompt: 'y'.repeat(501) },
    /^Validation error in negative_prompt: Negative prompt must be at most 500 characters/,
  ],
  [
    'generate_sprite',
    { ...ok, name: '../etc/passwd' },
    /^Validation error in name: Sprite name must be letters, digits/,
  ],
  [
    'generate_sprite',
    { ...ok, deploy: 'yes' },
    /^Validation error in deploy: deploy must be true or false/,
  ],
  [
    'generate_sprite',
    { ...ok, deploy: true },
    'Validation error in name: deploy: true needs a sprite name; pass name, e.g. "knight_idle"',
  ],
  ['generate_sprite', { ...ok, bevy_assets_dir: '' }, /^Validation error in bevy_assets_dir: /],
  [
    'generate_sprite',
    { ...ok, thumbnail: 1 },
    /^Validation error in thumbnail: thumbnail must be true or false/,
  ],
  [
    'generate_sprite',
    { ...ok, thumbnail_size: 8 },
    /^Validation error in thumbnail_size: thumbnail_size must be at least 16; got 8/,
  ],
  [
    'generate_sprite',
    { ...ok, wait_s: -1 },
    'Validation error in wait_s: wait_s must be at least 0; got -1. Example: 30.',
  ],
  [
    'generate_sprite',
    { ...ok, resoluton: '512x512' },
    "Validation error in arguments: unknown argument resoluton; check its spelling against the tool's input schema.",
  ],
  [
    'generate_batch',
    { prompts: [] },
    'Validation error in prompts: Prompts list cannot be empty; got []. Pass a list of prompts, one sprite each.',
  ],
  [
    'generate_batch',
    { prompts: Array(21).fill('goblin') },
    /^Validation error in prompts: Batch size cannot exceed 20; got \["goblin"/,
  ],
  [
    'generate_batch',
    { prompts: 'goblin' },
    /^Validation error in prompts: Prompts must be a list of strings; got "goblin"/,
  ],
  ['generate_batch', { prompts: ['goblin'], output_dir: '' }, /^Validation error in output_dir: /],
  [
    'generate_batch',
    { prompts: ['goblin'], output_dir: '../../../../tmp/x' },
    /^Validation error in output_dir: \/tmp\/x is outside the project/,
  ],
  [
    'generate_batch',
    { prompts: ['goblin'], steps: 1000 },
    /^Validation error in steps: Steps must be at most 100/,
  ],
  [
    'deploy_to_bevy',
    { bevy_assets_dir: 'a', sprite_name: 'x' },
    /^Validation error in sprite_path: sprite_path must be a file path; got nothing/,
  ],
  [
    'deploy_to_bevy',
    { sprite_path: 'a.png', sprite_name: 'a b' },
    /^Validation error in sprite_name: Sprite name must be letters, digits/,
  ],
  [
    'deploy_to_bevy',
    { sprite_path: 'a.png', sprite_name: 'ok', update_manifest: 'no' },
    /^Validation error in update_manifest: update_manifest must be true or false/,
  ],
  [
    'deploy_to_bevy',
    { sprite_path: 'missing.png', sprite_name: 'ok' },
    /^Sprite file not found: .*missing\.png; pass the output_path a generate_sprite call returned$/,
  ],
  ['get_job', {}, /^Validation error in job_id: job_id is required; got nothing\. Call list_jobs/],
  [
    'wait_job',
    { job_id: 'x', timeout_s: 4000 },
    /^Validation error in timeout_s: timeout_s must be at most 3600; got 4000/,
  ],
  ['cancel_job', { job_id: '' }, /^Validation error in job_id: job_id must be a job id/],
  [
    'list_jobs',
    { status: 'done' },
    /^Validation error in status: status must be one of: queued, running, success, error, cancelled; got "done"/,
  ],
  ['list_jobs', { limit: 0 }, /^Validation error in limit: limit must be at least 1; got 0/],
  [
    'rebuild_sprites',
    { dry_run: 'yes' },
    /^Validation error in dry_run: dry_run must be true or false/,
  ],
  ['list_models', { verbose: true }, /^Validation error in arguments: unknown argument verbose/],
];

describe('bad input', () => {
  it.each(BAD)(
    '%s %j is an isError result naming the field, the value and the fix',
    async (tool, args, expected) => {
      const result = await h.call(tool, args);
      expect(result.isError).toBe(true);
      const text = firstText(result);
      if (typeof expected === 'string') expect(text).toBe(expected);
      else expect(text).toMatch(expected);
      expect((result.structuredContent as { status?: string } | undefined)?.status ?? 'error').toBe(
        'error',
      );
    },
  );

  it('an unknown tool is a JSON-RPC error listing the tools', async () => {
    await expect(h.call('make_sprite', {})).rejects.toThrow(
      /Tool make_sprite not found; tools: generate_sprite, generate_batch/,
    );
  });
});

describe('several bad arguments', () => {
  it('are all reported in one answer, the first in the seed wording, each with its fix', async () => {
    const result = await h.call('generate_sprite', {
      prompt: 'x',
      resolution: '100x100',
      steps: 5,
      style: 'watercolor',
    });
    expect(result.isError).toBe(true);
    const lines = firstText(result).split('\n');
    expect(lines[0]).toBe(
      'Validation error in prompt: Prompt must be at least 3 characters; got "x" (1 characters). Describe the sprite in a few words, e.g. "knight with a sword".',
    );
    expect(lines.slice(1).sort()).toEqual([
      expect.stringMatching(
        /^Validation error in resolution: Resolution must be one of: .*; got "100x100" .*Pick one of the listed resolutions/,
      ),
      'Validation error in steps: Steps must be at least 10; got 5. Leave steps out for the default.',
      expect.stringMatching(
        /^Validation error in style: Style must be one of: .*; got "watercolor" .*Pick one of the listed styles/,
      ),
    ]);
    expect(lines).toHaveLength(4);
    const structured = result.structuredContent as { error?: string } | undefined;
    expect(structured?.error).toBe(firstText(result));
  });
});
