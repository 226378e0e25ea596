import { readdirSync, readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { PACKAGE_ROOT } from '../config/load.js';
import { DaemonError } from '../errors.js';
import { decodeImage } from './decode.js';
import { countColours } from './raw-image.js';

/** Folder of the shipped `.hex` palettes. */
export const PALETTE_DIR = resolve(PACKAGE_ROOT, 'config/palettes');

const HEX = /^#?([0-9a-f]{6})$/i;

/** Parses `.hex` text or a comma/space separated list of `#rrggbb`; `;`/`//` lines are comments. */
export function parseHexList(text: string, source: string): number[] {
  const out: number[] = [];
  const withoutComments = text.replace(/(;|\/\/).*$/gm, '');
  for (const raw of withoutComments.split(/[\s,]+/)) {
    const token = raw.trim();
    if (token === '') continue;
    const m = HEX.exec(token);
    if (!m) {
      throw new DaemonError(
        'VALIDATION',
        `Invalid palette colour "${token}" in ${source}: expected #rrggbb hex colours separated by commas or lines, e.g. "#000000,#ffffff".`,
      );
    }
    out.push(Number.parseInt(m[1] as string, 16));
  }
  if (out.length === 0) {
    throw new DaemonError(
      'VALIDATION',
      `Palette ${source} has no colours; give at least one #rrggbb colour.`,
    );
  }
  return [...new Set(out)];
}

/** Names of the shipped palettes (file names in config/palettes without `.hex`), sorted. */
export function listPaletteNames(): string[] {
  return readdirSync(PALETTE_DIR)
    .filter((f) => f.endsWith('.hex'))
    .map((f) => f.slice(0, -4))
    .sort();
}

/** A shipped palette by name with its colours as `#rrggbb`. */
export function listPalettes(): { name: string; colours: string[] }[] {
  return listPaletteNames().map((name) => ({
    name,
    colours: loadNamedPalette(name).map((c) => `#${c.toString(16).padStart(6, '0')}`),
  }));
}

const cache = new Map<string, number[]>();

/** Colours of a shipped palette. @throws DaemonError('VALIDATION') listing the names that exist. */
export function loadNamedPalette(name: string): number[] {
  const key = name.toLowerCase();
  const hit = cache.get(key);
  if (hit) return hit;
  const names = listPaletteNames();
  if (!names.includes(key)) {
    throw new DaemonError(
      'VALIDATION',
      `Unknown palette "${name}"; expected one of: ${names.join(', ')}, "auto", a list of #rrggbb colours, or a path to a .hex/.png palette file.`,
    );
  }
  const colours = parseHexList(
    readFileSync(resolve(PALETTE_DIR, `${key}.hex`), 'utf8'),
    `${key}.hex`,
  );
  cache.set(key, colours);
  return colours;
}

/**
 * Resolves a palette spec: a shipped name, `#rrggbb` list (string or array), a
 * `.hex`/`.txt` file, or an image whose distinct colours form the palette (≤ 256).
 * @throws DaemonError('VALIDATION') when the spec is none of these.
 */
export async function resolvePalette(spec: string | string[]): Promise<number[]> {
  if (Array.isArray(spec)) return parseHexList(spec.join(','), 'the palette list');
  if (spec.includes('#') || /^[0-9a-f]{6}(,[0-9a-f]{6})+$/i.test(spec))
    return parseHexList(spec, 'the palette list');
  const ext = extname(spec).toLowerCase();
  if (ext === '.hex' || ext === '.txt')
    return parseHexList(readFileOrThrow(spec).toString('utf8'), spec);
  if (['.png', '.gif', '.webp', '.bmp', '.jpg', '.jpeg'].includes(ext)) {
    const img = await decodeImage(readFileOrThrow(spec), { maxInputPixels: 4096 * 4096 });
    const colours = [...countColours(img).entries()].sort((a, b) => b[1] - a[1]).map(([c]) => c);
    if (colours.length === 0 || colours.length > 256) {
      throw new DaemonError(
        'VALIDATION',
        `Palette image ${spec} has ${colours.length} opaque colours; expected 1..256 (a palette swatch image).`,
      );
    }
    return colours;
  }
  return loadNamedPalette(spec);
}

function readFileOrThrow(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new DaemonError(
      'VALIDATION',
      `Cannot read palette file ${path}: ${(err as Error).message}. Give a shipped palette name or an existing file.`,
      {
        cause: err,
      },
    );
  }
}
