import { z } from 'zod';
import { PIVOTS } from './cleanup.js';

/** Bumped whenever a change of algorithm can change output pixels; recorded in every result. */
export const PIPELINE_VERSION = 'sprites-1.3.0';

const size = z.tuple([z.number().int().min(1).max(4096), z.number().int().min(1).max(4096)]);
const hex = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'expected #rrggbb');

/**
 * Per-request overrides (all optional): what MCP tools, the CLI and recipes pass.
 * Anything left out comes from the style preset in config/styles.yaml.
 */
export const SpriteOptionsSchema = z.strictObject({
  style: z.string().optional(),
  /** Force the logical size [w, h] instead of detecting the grid. null = detect. */
  logicalSize: size.nullable().optional(),
  /** 'auto', a shipped palette name, a `#rrggbb` list, or a path to a .hex/.png palette. */
  palette: z.union([z.string().min(1), z.array(hex).min(1)]).optional(),
  /** Most colours in the output, 1..256. */
  colours: z.number().int().min(1).max(256).optional(),
  dither: z.enum(['none', 'ordered']).optional(),
  background: z.enum(['flood', 'key', 'none']).optional(),
  /** Most ΔE76 (Lab) distance counted as background (the border's own noise may set less). */
  backgroundTolerance: z.number().min(0).max(100).optional(),
  /** Background colour; default: estimated from the border. */
  backgroundColour: hex.nullable().optional(),
  orphans: z.boolean().optional(),
  trim: z.boolean().optional(),
  /** Pad (or crop) the result onto a transparent canvas [w, h]. */
  canvas: size.nullable().optional(),
  pivot: z.enum(PIVOTS).optional(),
  /** 'none', 'auto' (darkest palette colour) or '#rrggbb'. */
  outline: z.union([z.enum(['none', 'auto']), hex]).optional(),
  outlineMode: z.enum(['outer', 'inner']).optional(),
  /** Share of each cell ignored at each side when sampling, 0..0.45. */
  cellInset: z.number().min(0).max(0.45).optional(),
  /** Reject inputs with more pixels than this. */
  maxInputPixels: z.number().int().positive().optional(),
});
export type SpriteOptions = z.input<typeof SpriteOptionsSchema>;

/** Every setting resolved: plain JSON, enough to reproduce the output with the same pipeline version. */
export interface EffectiveSettings {
  style: string;
  logicalSize: [number, number] | null;
  palette: string | string[];
  colours: number;
  dither: 'none' | 'ordered';
  background: 'flood' | 'key' | 'none';
  backgroundTolerance: number;
  backgroundColour: string | null;
  orphans: boolean;
  trim: boolean;
  canvas: [number, number] | null;
  pivot: (typeof PIVOTS)[number];
  outline: string;
  outlineMode: 'outer' | 'inner';
  cellInset: number;
  maxInputPixels: number;
}

/** Defaults under every style (a style sets only what differs). */
export const BASE_SETTINGS: Omit<EffectiveSettings, 'style'> = {
  logicalSize: null,
  palette: 'auto',
  colours: 32,
  dither: 'none',
  background: 'flood',
  backgroundTolerance: 8,
  backgroundColour: null,
  orphans: true,
  trim: false,
  canvas: null,
  pivot: 'center',
  outline: 'none',
  outlineMode: 'outer',
  cellInset: 0.2,
  maxInputPixels: 64 * 1024 * 1024,
};
