import { extname } from 'node:path';
import { DaemonError } from '../errors.js';
import { labDistanceSq, rgbToLab } from './colour-space.js';
import { reducePalette } from './palette-reduce.js';
import { countColours, type RawImage, rgbToHex } from './raw-image.js';

/**
 * The game's own palette (`palette: "project"`): the distinct opaque colours of
 * the sprites already deployed, so a new sprite is drawn with them. Every entry
 * is a colour that occurs in those sprites — never an average — so a sprite
 * mapped onto it uses only colours the game already has.
 */

/** Most entries of a project palette (a palette file and `colors` stay usable). */
export const PROJECT_PALETTE_MAX = 256;

/**
 * Distinct opaque colours (alpha ≥ 128) of `images`, most used first. Over `max`,
 * the colours are clustered (the auto palette's Lab clustering, `max` clusters)
 * and each cluster is represented by its most frequent real member.
 */
export function paletteOfImages(images: RawImage[], max = PROJECT_PALETTE_MAX): number[] {
  const counts = new Map<number, number>();
  for (const img of images)
    for (const [k, v] of countColours(img)) counts.set(k, (counts.get(k) ?? 0) + v);
  const byCount = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  if (byCount.length <= max) return byCount.map(([c]) => c);
  const centres = reducePalette(images, { maxColours: max });
  const lab = new Float64Array(centres.length * 3);
  centres.forEach((c, i) => {
    rgbToLab((c >> 16) & 255, (c >> 8) & 255, c & 255, lab, i * 3);
  });
  // best real member (highest count) per centre, and the centre's total weight
  const best = new Map<number, { colour: number; count: number; weight: number }>();
  const tmp = new Float64Array(3);
  for (const [colour, count] of byCount) {
    rgbToLab((colour >> 16) & 255, (colour >> 8) & 255, colour & 255, tmp);
    let k = 0;
    let bestD = Number.POSITIVE_INFINITY;
    for (let i = 0; i < centres.length; i++) {
      const d = labDistanceSq(lab, i * 3, tmp, 0);
      if (d < bestD) {
        bestD = d;
        k = i;
      }
    }
    const slot = best.get(k);
    if (slot === undefined) best.set(k, { colour, count, weight: count });
    else slot.weight += count; // byCount is sorted: the first member seen is the commonest
  }
  return [...best.values()].sort((a, b) => b.weight - a.weight).map((s) => s.colour);
}

export type PaletteFileFormat = 'hex' | 'gpl';

/** The palette file format a path's extension names. @throws DaemonError('VALIDATION') otherwise. */
export function paletteFormatOf(path: string): PaletteFileFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.hex') return 'hex';
  if (ext === '.gpl') return 'gpl';
  throw new DaemonError(
    'VALIDATION',
    `Validation error in output: cannot write a palette as "${ext || path}"; name the file *.hex (one RRGGBB per line: Lospec, Aseprite) or *.gpl (GIMP / Aseprite palette).`,
  );
}

/**
 * A palette file: `.hex` is one `rrggbb` per line (Lospec, Aseprite); `.gpl` is a
 * GIMP palette (GIMP, Aseprite, Krita): header, then `R G B<TAB>name` per colour.
 */
export function formatPalette(colours: number[], format: PaletteFileFormat, name: string): string {
  if (format === 'hex') return colours.map((c) => `${rgbToHex(c).slice(1)}\n`).join('');
  const lines = [
    'GIMP Palette',
    `Name: ${name.replace(/[\r\n]/g, ' ')}`,
    `Columns: ${Math.min(16, Math.max(1, colours.length))}`,
    '#',
  ];
  for (const c of colours) {
    const [r, g, b] = [(c >> 16) & 255, (c >> 8) & 255, c & 255];
    lines.push(
      `${String(r).padStart(3)} ${String(g).padStart(3)} ${String(b).padStart(3)}\t${rgbToHex(c)}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
