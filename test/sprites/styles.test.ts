import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../daemon/src/config/schema.js';
import { isDaemonError } from '../../daemon/src/errors.js';
import {
  listStyles,
  PIPELINE_VERSION,
  resolveSpriteOptions,
} from '../../daemon/src/sprites/index.js';

describe('style presets', () => {
  it('has one preset per allowed style', () => {
    const allowed = ConfigSchema.parse({}).validation.allowed_styles;
    expect(
      listStyles()
        .map((s) => s.name)
        .sort(),
    ).toEqual([...allowed].sort());
  });

  it('resolves a style and lets a request override it', () => {
    const s = resolveSpriteOptions('retro', { colours: 8, outline: '#112233' });
    expect(s).toMatchObject({
      style: 'retro',
      palette: 'pico-8',
      colours: 8,
      outline: '#112233',
      background: 'flood',
    });
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
    expect(PIPELINE_VERSION).toMatch(/^sprites-\d+\.\d+\.\d+$/);
  });

  it.each([
    [
      'unknown style',
      'cubism',
      {},
      'Unknown style "cubism"; expected one of: pixel_art, 16bit, 8bit, retro, game_sprite.',
    ],
    ['bad colours', undefined, { colours: 0 }, /^Invalid sprite option colours: /],
    ['unknown option', undefined, { colour: 3 }, /^Invalid sprite option/],
    ['bad outline', undefined, { outline: 'red' }, /^Invalid sprite option outline/],
  ])('rejects %s with VALIDATION', (_n, style, overrides, message) => {
    let err: unknown;
    try {
      resolveSpriteOptions(style, overrides as never);
    } catch (e) {
      err = e;
    }
    expect(isDaemonError(err, 'VALIDATION')).toBe(true);
    expect((err as Error).message).toMatch(message);
  });
});
