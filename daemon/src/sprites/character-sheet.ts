import { DaemonError } from '../errors.js';
import { type Facing, facingsFor, MIRROR_OF } from '../protocol/pose.js';
import { type Anchor, commonFrame, flipX, frameAnchor, placeOnAnchor } from './anchor.js';
import { decodeImage, encodePng } from './decode.js';
import { buildPalette, finishFrame, prepareFrame, type Timings, usedPalette } from './pipeline.js';
import { cropImage, type RawImage } from './raw-image.js';
import { type EffectiveSettings, PIPELINE_VERSION, type SpriteOptions } from './settings.js';
import { type AsepriteJson, type AtlasGrid, asepriteJson, layoutFrames } from './sheet-layout.js';
import { resolveSpriteOptions } from './styles.js';

/**
 * A character set: one figure in 4 or 8 facings, each with a still frame and its
 * named animations, as ONE sheet a Bevy game can use as is.
 *
 * Sheet layout (and the tags a game plays):
 * - one row per facing, in `facingsFor(directions)` order: south, west, east, north,
 *   then (8 directions) south_west, south_east, north_west, north_east;
 * - in every row, column 0 is the still frame (tag `<facing>`), then each animation's
 *   frames in the order asked (tag `<facing>_<animation>`, e.g. `south_walk`);
 * - frame index = row × columns + column (Bevy's `TextureAtlasLayout::from_grid`
 *   order), so a tag is the index range `from..=to` of the atlas.
 *
 * The raw input is the worker's outputs laid out the same way, but only for the
 * facings that were generated (west-side ones are mirrored from the east-side ones
 * unless `mirror` is false): `rows = generatedFacings.length`, each cell the model's
 * output resolution.
 */

export interface CharacterAnimation {
  name: string;
  frames: number;
  /** ms per frame (default 100 for walk/run, 200 otherwise). */
  durationMs?: number | undefined;
}

export interface CharacterClip {
  /** Tag suffix: '' for the still frame, else the animation name. */
  name: string;
  /** What the worker is asked to draw (`pose.animation`): `stand` for the still frame. */
  animation: string;
  frames: number;
  durationMs: number;
  /** First column of the clip in a row. */
  column: number;
}

export interface CharacterLayout {
  directions: 4 | 8;
  facings: readonly Facing[];
  /** Facings the worker draws (raw rows), in sheet order. */
  generated: readonly Facing[];
  clips: CharacterClip[];
  columns: number;
  mirror: boolean;
}

/** Animation names: a tag part, so letters, digits and `_` (not starting with a digit). */
export const ANIMATION_NAME_RE = /^[a-z][a-z0-9_]{0,31}$/;

/** Rows, columns and clips of a character set. */
export function characterLayout(
  directions: 4 | 8,
  animations: readonly CharacterAnimation[],
  mirror = true,
): CharacterLayout {
  const facings = facingsFor(directions);
  const clips: CharacterClip[] = [
    { name: '', animation: 'stand', frames: 1, durationMs: 200, column: 0 },
  ];
  let column = 1;
  const seen = new Set<string>();
  for (const a of animations) {
    if (!ANIMATION_NAME_RE.test(a.name) || seen.has(a.name) || a.name === 'stand') {
      throw new DaemonError(
        'VALIDATION',
        `Validation error in animations: name "${a.name}" must be unique, lower-case letters, digits or "_" (up to 32, starting with a letter) and not "stand", e.g. "walk"`,
      );
    }
    seen.add(a.name);
    const walking = /^(walk|run)/.test(a.name);
    clips.push({
      name: a.name,
      animation: a.name,
      frames: a.frames,
      durationMs: a.durationMs ?? (walking ? 100 : 200),
      column,
    });
    column += a.frames;
  }
  const generated = mirror ? facings.filter((f) => MIRROR_OF[f] === undefined) : facings;
  return { directions, facings, generated, clips, columns: column, mirror };
}

/** The tag of a facing's clip: `south` for the still frame, `south_walk` for an animation. */
export function tagName(facing: Facing, clip: Pick<CharacterClip, 'name'>): string {
  return clip.name === '' ? facing : `${facing}_${clip.name}`;
}

export interface CharacterSheetOptions extends SpriteOptions {
  /** Base name of the frame keys and `meta.image` (`<imageName>`). */
  name?: string;
  imageName?: string;
  /** Frame size [w, h]; the frame grows (and `grew` is set) when the aligned figures do not fit. */
  frameSize?: [number, number] | undefined;
}

export interface ProcessedCharacterSheet {
  png: Buffer;
  width: number;
  height: number;
  json: AsepriteJson;
  grid: AtlasGrid;
  /** Every tag: name → [from, to] frame indices (inclusive). */
  tags: Record<string, [number, number]>;
  /** The set's palette (#rrggbb), taken from the first facing unless a palette was given. */
  palette: string[];
  /** Where every frame's anchor sits: body centre column and feet row. */
  anchor: { x: number; y: number };
  /** The frame had to grow beyond `frameSize` to hold every aligned figure. */
  grew: boolean;
  settings: EffectiveSettings;
  pipelineVersion: string;
  timingsMs: Timings;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] as number;
}

/**
 * Post-process a character set's raw outputs (laid out as `layout` says) into one
 * sheet: one logical size and one palette for every frame (the first facing's, or
 * `options.palette`), west-side facings mirrored from east-side ones (unless the
 * layout generated them), and every frame placed on one anchor (feet row and body
 * centre column, sprites/anchor.ts). Throws DaemonError('BAD_IMAGE') when the raw
 * image does not divide into the layout's cells.
 */
export async function processCharacterSheet(
  input: Buffer | Uint8Array,
  layout: CharacterLayout,
  options: CharacterSheetOptions = {},
): Promise<ProcessedCharacterSheet> {
  const { name = 'character', imageName, frameSize, ...spriteOptions } = options;
  const settings = resolveSpriteOptions(spriteOptions.style, spriteOptions);
  const timings: Timings = {};
  const raw = await decodeImage(input, { maxInputPixels: settings.maxInputPixels });
  const rows = layout.generated.length;
  const cols = layout.columns;
  if (raw.width % cols !== 0 || raw.height % rows !== 0) {
    throw new DaemonError(
      'BAD_IMAGE',
      `a ${raw.width}×${raw.height} raw image does not divide into the character layout's ${cols}×${rows} cells (columns = 1 + the animations' frames, rows = generated facings); regenerate the set`,
    );
  }
  const cw = raw.width / cols;
  const ch = raw.height / rows;
  const cells: RawImage[] = [];
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) cells.push(cropImage(raw, c * cw, r * ch, cw, ch));
  let prepared = cells.map((cell) =>
    prepareFrame(cell, settings, timings, settings.logicalSize, raw.format),
  );
  // one logical size for every frame of every facing
  const size: [number, number] = settings.logicalSize ?? [
    median(prepared.map((p) => p.detected.logicalSize[0])),
    median(prepared.map((p) => p.detected.logicalSize[1])),
  ];
  prepared = prepared.map((p, i) =>
    p.detected.logicalSize[0] === size[0] && p.detected.logicalSize[1] === size[1]
      ? p
      : prepareFrame(cells[i] as RawImage, settings, timings, size, raw.format),
  );
  // one palette for the set: the first facing's (row 0), unless a palette was given
  const firstFacing = settings.palette === 'auto' ? prepared.slice(0, cols) : prepared;
  const palette = await buildPalette(
    firstFacing.map((p) => p.small),
    settings,
    timings,
  );
  const finished = prepared.map((p) => finishFrame(p.small, palette, settings, timings));
  // every facing's row: drawn, or mirrored from its east-side twin
  const frames: RawImage[] = [];
  for (const facing of layout.facings) {
    const drawn = layout.generated.indexOf(facing);
    const source = drawn >= 0 ? drawn : layout.generated.indexOf(MIRROR_OF[facing] as Facing);
    if (source < 0) throw new Error(`character layout has no row for ${facing}`);
    for (let c = 0; c < cols; c++) {
      const f = finished[source * cols + c] as RawImage;
      frames.push(drawn >= 0 ? f : flipX(f));
    }
  }
  const anchors: (Anchor | undefined)[] = frames.map(frameAnchor);
  const frame = commonFrame(anchors, frameSize);
  const placed = frames.map((f, i) => placeOnAnchor(f, anchors[i], frame));
  const sheet = layoutFrames(placed, cols, 0, 0);
  const png = await encodePng(sheet.image);
  const tags: Record<string, [number, number]> = {};
  const frameTags: AsepriteJson['meta']['frameTags'] = [];
  const durations: number[] = [];
  layout.facings.forEach((facing, row) => {
    for (const clip of layout.clips) {
      const from = row * cols + clip.column;
      const to = from + clip.frames - 1;
      tags[tagName(facing, clip)] = [from, to];
      frameTags.push({ name: tagName(facing, clip), from, to, direction: 'forward' });
      for (let k = 0; k < clip.frames; k++) durations.push(clip.durationMs);
    }
  });
  const json = asepriteJson({
    name,
    image: imageName ?? `${name}.png`,
    version: PIPELINE_VERSION,
    size: { w: sheet.image.width, h: sheet.image.height },
    frameSize: { w: frame.width, h: frame.height },
    positions: sheet.positions,
    durationsMs: durations,
    tags: frameTags,
  });
  return {
    png,
    width: sheet.image.width,
    height: sheet.image.height,
    json,
    grid: sheet.grid,
    tags,
    palette: usedPalette(placed),
    anchor: { x: frame.x, y: frame.y },
    grew: frame.grew,
    settings,
    pipelineVersion: PIPELINE_VERSION,
    timingsMs: timings,
  };
}
