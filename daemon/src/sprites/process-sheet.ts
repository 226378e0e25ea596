import { DaemonError } from '../errors.js';
import { removeBackground } from './background.js';
import { type Box, opaqueBounds, unionBox } from './cleanup.js';
import { decodeImage, encodePng } from './decode.js';
import {
  buildPalette,
  type Detected,
  finishFrame,
  frameToCanvas,
  prepareFrame,
  type Timings,
  timed,
  usedPalette,
} from './pipeline.js';
import { cropImage, type RawImage } from './raw-image.js';
import { type EffectiveSettings, PIPELINE_VERSION, type SpriteOptions } from './settings.js';
import { type AsepriteJson, type AtlasGrid, asepriteJson, layoutFrames } from './sheet-layout.js';
import { resolveSpriteOptions } from './styles.js';

/** How the raw worker image is divided: N animation frames side by side, or a c×r tile grid. */
export type SheetLayout = { frames: number } | { grid: [number, number] };

export interface SheetOptions extends SpriteOptions {
  /** Name used for frame keys and the animation tag (default 'sprite'). */
  name?: string;
  /** File name recorded in the JSON `meta.image` (default `${name}.png`). */
  imageName?: string;
  /** Duration of each animation frame, ms (default 100). */
  frameDurationMs?: number;
  /** Gap between frames in the output sheet, px (default 0 for sheets, 2 for tilesets). */
  spacing?: number;
  /** Edge pixels copied around each tile against bleeding, px (default 0 for sheets, 1 for tilesets). */
  extrude?: number;
}

export interface ProcessedSheet {
  png: Buffer;
  width: number;
  height: number;
  kind: 'sheet' | 'tileset';
  json: AsepriteJson;
  grid: AtlasGrid;
  /** Detection of each frame (the shared logical size is in every entry). */
  frames: Detected[];
  detected: Detected;
  paletteSize: number;
  palette: string[];
  settings: EffectiveSettings;
  pipelineVersion: string;
  timingsMs?: Timings;
}

/** Fewest cells a tile margin is wide on every side it is cut from. */
const MIN_TILE_MARGIN = 2;

/**
 * The one box that holds every tile without the background margin around it, or
 * null when there is no such margin to cut. Each tile is flooded from its border as
 * background removal would; the box is the union of what stays. Cut only when every
 * tile has a background colour on its border and what stays is a filled rectangle
 * (≥ 90 % opaque) of at least half the tile's width and height, and the box is
 * smaller than the tile by at least MIN_TILE_MARGIN cells on each side it cuts (a
 * 1-cell ring is the tile's own outline). Ground drawn edge to edge (a flood eats a
 * whole plain tile, or leaves texture up to the edges) and a figure on ground (a
 * tree on grass: the grass is part of the tile) are left alone.
 */
export function tileMarginBox(tiles: RawImage[], tolerance: number): Box | null {
  let box: Box | null = null;
  for (const tile of tiles) {
    const flooded = removeBackground(tile, { mode: 'flood', tolerance });
    if (flooded.colour === null) return null;
    const b = opaqueBounds(flooded.image);
    if (!b || 2 * b.width < tile.width || 2 * b.height < tile.height) return null;
    if (opaqueShare(flooded.image, b) < 0.9) return null; // a figure on ground, not a tile
    box = unionBox(box, b);
  }
  const first = tiles[0];
  if (!box || !first || (box.width === first.width && box.height === first.height)) return null;
  // A margin is wide: a cut of one cell is a tile's own outline drawn edge to edge.
  const cuts = [
    box.left,
    box.top,
    first.width - box.left - box.width,
    first.height - box.top - box.height,
  ];
  return cuts.every((c) => c === 0 || c >= MIN_TILE_MARGIN) ? box : null;
}

/** Share of the pixels inside `b` that are opaque. */
function opaqueShare(img: RawImage, b: Box): number {
  let n = 0;
  for (let y = b.top; y < b.top + b.height; y++)
    for (let x = b.left; x < b.left + b.width; x++)
      if ((img.data[(y * img.width + x) * 4 + 3] as number) >= 128) n++;
  return n / (b.width * b.height);
}

/** Median of numbers (for the shared logical size). */
function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] as number;
}

/**
 * Splits one raw worker image into animation frames (`{frames: N}`: N equal
 * frames side by side) or tiles (`{grid: [c, r]}`), processes every cell with one
 * logical size (the median of the detected ones, so frames line up) and one shared
 * palette, and assembles a sheet PNG plus Aseprite json-hash metadata and the grid
 * Bevy's `TextureAtlasLayout::from_grid` needs. Tilesets keep their background
 * unless `background` is set explicitly (a tile is usually opaque ground).
 * Animation strips are trimmed to the union of their frames' boxes (one box for
 * all, so the figure does not jitter) unless `trim: false` or a logical size is
 * given: a frame is a slice of the model's picture, mostly empty around the figure.
 * Tiles lose the margin of background the model paints around each of them
 * (`tileMarginBox`; `trim: false` keeps it).
 * @throws DaemonError('BAD_IMAGE') when the image cannot be divided that way.
 */
export async function processSheet(
  input: Buffer | Uint8Array,
  layout: SheetLayout,
  options: SheetOptions = {},
): Promise<ProcessedSheet> {
  const {
    name = 'sprite',
    imageName,
    frameDurationMs = 100,
    spacing,
    extrude,
    ...spriteOptions
  } = options;
  const kind = 'frames' in layout ? 'sheet' : 'tileset';
  const overrides: SpriteOptions =
    kind === 'tileset' && spriteOptions.background === undefined
      ? { ...spriteOptions, background: 'none' }
      : kind === 'sheet' &&
          spriteOptions.trim === undefined &&
          (spriteOptions.logicalSize ?? null) === null
        ? { ...spriteOptions, trim: true }
        : spriteOptions;
  const settings = resolveSpriteOptions(overrides.style, overrides);
  const timings: Timings = {};
  const t0 = performance.now();
  const raw = await decodeImage(input, { maxInputPixels: settings.maxInputPixels });
  timings.decode = performance.now() - t0;
  const [cols, rows] = 'frames' in layout ? [layout.frames, 1] : layout.grid;
  if (
    !Number.isInteger(cols) ||
    !Number.isInteger(rows) ||
    cols < 1 ||
    rows < 1 ||
    cols > raw.width ||
    rows > raw.height
  ) {
    throw new DaemonError(
      'BAD_IMAGE',
      `Cannot split a ${raw.width}×${raw.height} image into ${cols}×${rows} cells; expected positive integers no larger than the image (animation_frames N = N frames side by side).`,
    );
  }
  const cw = Math.floor(raw.width / cols);
  const ch = Math.floor(raw.height / rows);
  const cells: RawImage[] = [];
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) cells.push(cropImage(raw, c * cw, r * ch, cw, ch));
  const format = raw.format;
  let prepared = cells.map((cell) =>
    prepareFrame(cell, settings, timings, settings.logicalSize, format),
  );
  // One logical size for all frames, or they would not line up in the atlas.
  const size: [number, number] = settings.logicalSize ?? [
    median(prepared.map((p) => p.detected.logicalSize[0])),
    median(prepared.map((p) => p.detected.logicalSize[1])),
  ];
  prepared = prepared.map((p, i) =>
    p.detected.logicalSize[0] === size[0] && p.detected.logicalSize[1] === size[1]
      ? p
      : prepareFrame(cells[i] as RawImage, settings, timings, size, format),
  );
  const palette = await buildPalette(
    prepared.map((p) => p.small),
    settings,
    timings,
  );
  const finished = prepared.map((p) => finishFrame(p.small, palette, settings, timings));
  // Trim to the union of all frames' boxes so the animation does not jitter.
  let bounds: Box | null = null;
  if (settings.trim) for (const f of finished) bounds = unionBox(bounds, opaqueBounds(f));
  // A tileset keeps its background, but not the margin of it the model paints around
  // every tile (unless trim: false).
  const margin =
    kind === 'tileset' && !settings.trim && spriteOptions.trim === undefined
      ? timed(timings, 'canvas', () => tileMarginBox(finished, settings.backgroundTolerance))
      : null;
  const outFrames = timed(timings, 'canvas', () =>
    finished.map((f) =>
      margin
        ? cropImage(f, margin.left, margin.top, margin.width, margin.height)
        : frameToCanvas(f, settings, bounds),
    ),
  );
  const sheet = timed(timings, 'sheet', () =>
    layoutFrames(
      outFrames,
      cols,
      spacing ?? (kind === 'tileset' ? 2 : 0),
      extrude ?? (kind === 'tileset' ? 1 : 0),
    ),
  );
  const t1 = performance.now();
  const png = await encodePng(sheet.image);
  timings.encode = performance.now() - t1;
  timings.total = performance.now() - t0;
  const json = asepriteJson({
    name,
    image: imageName ?? `${name}.png`,
    version: PIPELINE_VERSION,
    size: { w: sheet.image.width, h: sheet.image.height },
    frameSize: { w: sheet.grid.frameWidth, h: sheet.grid.frameHeight },
    positions: sheet.positions,
    durationsMs: outFrames.map(() => frameDurationMs),
    tags:
      kind === 'sheet' ? [{ name, from: 0, to: outFrames.length - 1, direction: 'forward' }] : [],
  });
  const used = usedPalette(outFrames);
  const frames = prepared.map((p) => p.detected);
  return {
    png,
    width: sheet.image.width,
    height: sheet.image.height,
    kind,
    json,
    grid: sheet.grid,
    frames,
    detected: {
      ...(frames[0] as Detected),
      confidence: Math.min(...frames.map((f) => f.confidence)),
      logicalSize: size,
    },
    paletteSize: used.length,
    palette: used,
    settings,
    pipelineVersion: PIPELINE_VERSION,
    timingsMs: timings,
  };
}
