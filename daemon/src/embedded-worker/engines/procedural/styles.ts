import { buildRamp, luminance, nearest, type Rgb } from './colour.js';

/**
 * The visual styles the engine knows (config validation.allowed_styles). They
 * differ where a player would see it: logical resolution, colours per
 * material, outline treatment and the master palette colours snap to.
 */
export type StyleName = '8bit' | '16bit' | 'pixel_art' | 'retro' | 'game_sprite';
export const STYLE_NAMES: readonly StyleName[] = [
  '8bit',
  '16bit',
  'pixel_art',
  'retro',
  'game_sprite',
];

export interface StyleSpec {
  name: StyleName;
  /** Logical canvas edge in pixels (sprites are square). */
  size: number;
  /** Shades per material, darkest first. */
  rampLevels: number;
  /** 'black': hard black line; 'dark': darkest shade of the touching material. */
  outline: 'black' | 'dark';
  /** When set, every colour snaps to this palette (console limits). */
  master?: readonly Rgb[];
  /** Light from the top-left adds a highlight pixel row. */
  highlight: boolean;
}

// A reduced NES-like master palette: saturated mid tones, few darks.
const NES: readonly Rgb[] = [
  [0, 0, 0],
  [124, 124, 124],
  [188, 188, 188],
  [248, 248, 248],
  [0, 0, 252],
  [0, 120, 248],
  [60, 188, 252],
  [104, 68, 252],
  [148, 0, 132],
  [216, 0, 204],
  [168, 0, 32],
  [228, 0, 88],
  [248, 56, 0],
  [172, 124, 0],
  [248, 184, 0],
  [252, 224, 168],
  [0, 120, 0],
  [0, 184, 0],
  [184, 248, 24],
  [0, 88, 248],
  [0, 136, 136],
  [0, 232, 216],
  [136, 20, 0],
  [228, 92, 16],
  [248, 164, 192],
];
// Four-shade handheld green.
const HANDHELD: readonly Rgb[] = [
  [15, 56, 15],
  [48, 98, 48],
  [139, 172, 15],
  [155, 188, 15],
];

export const STYLES: Readonly<Record<StyleName, StyleSpec>> = {
  '8bit': {
    name: '8bit',
    size: 16,
    rampLevels: 2,
    outline: 'black',
    master: NES,
    highlight: false,
  },
  retro: {
    name: 'retro',
    size: 24,
    rampLevels: 3,
    outline: 'dark',
    master: HANDHELD,
    highlight: false,
  },
  pixel_art: { name: 'pixel_art', size: 32, rampLevels: 3, outline: 'dark', highlight: false },
  '16bit': { name: '16bit', size: 32, rampLevels: 4, outline: 'dark', highlight: true },
  game_sprite: { name: 'game_sprite', size: 48, rampLevels: 4, outline: 'dark', highlight: true },
};

/** The style named (case-insensitive, `16-bit` → `16bit`), or pixel_art for anything unknown. */
export function resolveStyle(style: string | undefined): StyleSpec {
  const key = (style ?? '').toLowerCase().replace(/[-\s]/g, '');
  const aliases: Record<string, StyleName> = {
    '8bit': '8bit',
    nes: '8bit',
    '16bit': '16bit',
    snes: '16bit',
    pixelart: 'pixel_art',
    pixel_art: 'pixel_art',
    retro: 'retro',
    gameboy: 'retro',
    gamesprite: 'game_sprite',
    game_sprite: 'game_sprite',
  };
  return STYLES[aliases[key] ?? 'pixel_art'];
}

/** The shading ramp of one material in a style, snapped to the style's master palette. */
export function styleRamp(spec: StyleSpec, base: Rgb): Rgb[] {
  const ramp = buildRamp(base, spec.rampLevels, spec.name !== '8bit');
  const master = spec.master;
  if (master === undefined) return ramp;
  if (spec.name === 'retro') {
    // the handheld has four greys-of-green: map by brightness, keep the ramp ordered
    const sorted = [...master].sort((a, b) => luminance(a) - luminance(b));
    return ramp.map((c) => {
      const i = Math.min(sorted.length - 1, Math.floor((luminance(c) / 256) * sorted.length));
      return sorted[i] as Rgb;
    });
  }
  return ramp.map((c) => nearest(c, master));
}
