import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { PACKAGE_ROOT } from '../config/load.js';
import { DaemonError } from '../errors.js';
import { listPalettes } from './palettes.js';
import {
  BASE_SETTINGS,
  type EffectiveSettings,
  type SpriteOptions,
  SpriteOptionsSchema,
} from './settings.js';

export const STYLES_FILE = resolve(PACKAGE_ROOT, 'config/styles.yaml');

const StyleSchema = z.object({
  description: z.string().default(''),
  logical_size: z
    .union([z.literal('auto'), z.tuple([z.number().int().positive(), z.number().int().positive()])])
    .optional(),
  palette: z.string().optional(),
  colours: z.number().int().min(1).max(256).optional(),
  dither: z.enum(['none', 'ordered']).optional(),
  background: z.enum(['flood', 'key', 'none']).optional(),
  background_tolerance: z.number().min(0).optional(),
  outline: z.string().optional(),
  outline_mode: z.enum(['outer', 'inner']).optional(),
  trim: z.boolean().optional(),
  canvas: z.tuple([z.number().int().positive(), z.number().int().positive()]).optional(),
  pivot: z.string().optional(),
});
const StylesFileSchema = z.object({
  version: z.literal(1),
  default_style: z.string(),
  styles: z.record(z.string(), StyleSchema),
});
type StylesFile = z.infer<typeof StylesFileSchema>;

let loaded: StylesFile | null = null;

/** config/styles.yaml, parsed once. @throws DaemonError('CONFIG_INVALID') naming the bad key. */
export function loadStyles(file = STYLES_FILE): StylesFile {
  if (loaded && file === STYLES_FILE) return loaded;
  const parsed = StylesFileSchema.safeParse(parse(readFileSync(file, 'utf8')));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DaemonError(
      'CONFIG_INVALID',
      `Invalid style preset file ${file} at ${issue?.path.join('.') ?? '?'}: ${issue?.message ?? 'unknown'}; fix the file or restore the shipped one.`,
    );
  }
  if (file === STYLES_FILE) loaded = parsed.data;
  return parsed.data;
}

/** The styles and palettes an MCP `list_styles` tool shows. */
export function listStyles(): { name: string; description: string; settings: EffectiveSettings }[] {
  const file = loadStyles();
  return Object.entries(file.styles).map(([name, s]) => ({
    name,
    description: s.description,
    settings: resolveSpriteOptions(name, {}),
  }));
}

export { listPalettes };

/**
 * Effective settings for `style` (default: the file's default_style) with the
 * request's `overrides` on top. Plain JSON, recorded in every result.
 * @throws DaemonError('VALIDATION') for an unknown style or a bad override.
 */
export function resolveSpriteOptions(
  style: string | undefined,
  overrides: SpriteOptions = {},
): EffectiveSettings {
  const parsed = SpriteOptionsSchema.safeParse(overrides);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DaemonError(
      'VALIDATION',
      `Invalid sprite option ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'unknown'}; see dgx-pixels process --help for the accepted values.`,
    );
  }
  const file = loadStyles();
  const name = style ?? parsed.data.style ?? file.default_style;
  const preset = file.styles[name];
  if (!preset) {
    throw new DaemonError(
      'VALIDATION',
      `Unknown style "${name}"; expected one of: ${Object.keys(file.styles).join(', ')}.`,
    );
  }
  const fromStyle: Partial<EffectiveSettings> = {};
  if (preset.logical_size !== undefined)
    fromStyle.logicalSize = preset.logical_size === 'auto' ? null : preset.logical_size;
  if (preset.palette !== undefined) fromStyle.palette = preset.palette;
  if (preset.colours !== undefined) fromStyle.colours = preset.colours;
  if (preset.dither !== undefined) fromStyle.dither = preset.dither;
  if (preset.background !== undefined) fromStyle.background = preset.background;
  if (preset.background_tolerance !== undefined)
    fromStyle.backgroundTolerance = preset.background_tolerance;
  if (preset.outline !== undefined) fromStyle.outline = preset.outline;
  if (preset.outline_mode !== undefined) fromStyle.outlineMode = preset.outline_mode;
  if (preset.trim !== undefined) fromStyle.trim = preset.trim;
  if (preset.canvas !== undefined) fromStyle.canvas = preset.canvas;
  if (preset.pivot !== undefined) fromStyle.pivot = preset.pivot as EffectiveSettings['pivot'];
  const o = parsed.data;
  const out: EffectiveSettings = { ...BASE_SETTINGS, ...fromStyle, style: name };
  for (const [k, v] of Object.entries(o)) {
    if (v !== undefined && k !== 'style') (out as unknown as Record<string, unknown>)[k] = v;
  }
  return out;
}
