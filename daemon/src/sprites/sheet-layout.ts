import { blankImage, blitImage, type RawImage } from './raw-image.js';

/** Atlas metadata in the shape Bevy's `TextureAtlasLayout::from_grid(tile_size, columns, rows, padding, offset)` takes. */
export interface AtlasGrid {
  columns: number;
  rows: number;
  frameWidth: number;
  frameHeight: number;
  /** Gap between neighbouring frames, px (Bevy `padding`, same on both axes). */
  padding: number;
  /** Distance of the first frame from the top-left corner, px (Bevy `offset`). */
  offset: number;
}

/**
 * Frame grid of a sheet or tileset, as asset_manifest.json records it (a type
 * alias, not an interface, so it fits the manifest schema's loose object).
 */
export type ManifestGrid = {
  columns: number;
  rows: number;
  frame_width: number;
  frame_height: number;
  padding: [number, number];
  offset: [number, number];
};

/**
 * The grid as asset_manifest.json records it (Bevy's TextureAtlasLayout::from_grid
 * terms, snake_case, padding and offset per axis). Used by both the MCP deploy
 * and the CLI rebuild, so a sheet is described alike whichever path wrote it.
 */
export function manifestGrid(grid: AtlasGrid): ManifestGrid {
  return {
    columns: grid.columns,
    rows: grid.rows,
    frame_width: grid.frameWidth,
    frame_height: grid.frameHeight,
    padding: [grid.padding, grid.padding],
    offset: [grid.offset, grid.offset],
  };
}

/**
 * Lays equal-size frames on a grid, row-major: frame i at column i % columns.
 * `extrude` copies each frame's edge pixels outward by that many px so that
 * linear filtering or sub-pixel camera positions never sample the neighbour
 * (tile bleeding); the copies sit in the gap, so Bevy's padding = spacing +
 * 2·extrude and offset = extrude.
 */
export function layoutFrames(
  frames: RawImage[],
  columns: number,
  spacing = 0,
  extrude = 0,
): { image: RawImage; grid: AtlasGrid; positions: { x: number; y: number }[] } {
  const first = frames[0];
  if (!first) throw new Error('layoutFrames needs at least one frame');
  const fw = first.width;
  const fh = first.height;
  const rows = Math.ceil(frames.length / columns);
  const padding = spacing + 2 * extrude;
  const offset = extrude;
  const width = columns * fw + (columns - 1) * padding + 2 * offset;
  const height = rows * fh + (rows - 1) * padding + 2 * offset;
  const image = blankImage(width, height);
  const positions: { x: number; y: number }[] = [];
  frames.forEach((f, i) => {
    const x = offset + (i % columns) * (fw + padding);
    const y = offset + Math.floor(i / columns) * (fh + padding);
    positions.push({ x, y });
    for (let e = extrude; e >= 1; e--) extrudeFrame(image, f, x, y, e);
    blitImage(image, f, x, y);
  });
  return {
    image,
    grid: { columns, rows, frameWidth: fw, frameHeight: fh, padding, offset },
    positions,
  };
}

/** Paints the frame's border pixels `e` px outside its rectangle (edges and corners). */
function extrudeFrame(dst: RawImage, f: RawImage, left: number, top: number, e: number): void {
  const { width: w, height: h } = f;
  for (let y = -e; y < h + e; y++) {
    for (let x = -e; x < w + e; x++) {
      if (x >= 0 && x < w && y >= 0 && y < h) continue;
      const sx = Math.min(w - 1, Math.max(0, x));
      const sy = Math.min(h - 1, Math.max(0, y));
      const dx = left + x;
      const dy = top + y;
      if (dx < 0 || dy < 0 || dx >= dst.width || dy >= dst.height) continue;
      const s = (sy * w + sx) * 4;
      const d = (dy * dst.width + dx) * 4;
      dst.data.set(f.data.subarray(s, s + 4), d);
    }
  }
}

/** Aseprite "json-hash" export: what Aseprite writes with `--format json-hash`, read by most engines' importers. */
export interface AsepriteJson {
  frames: Record<
    string,
    {
      frame: { x: number; y: number; w: number; h: number };
      rotated: false;
      trimmed: false;
      spriteSourceSize: { x: 0; y: 0; w: number; h: number };
      sourceSize: { w: number; h: number };
      duration: number;
    }
  >;
  meta: {
    app: string;
    version: string;
    image: string;
    format: 'RGBA8888';
    size: { w: number; h: number };
    scale: '1';
    frameTags: {
      name: string;
      from: number;
      to: number;
      direction: 'forward' | 'reverse' | 'pingpong';
    }[];
    layers: { name: string; opacity: number; blendMode: 'normal' }[];
    slices: [];
  };
}

/** The json-hash document for frames at `positions`; frame keys are `${name} ${i}.aseprite` like Aseprite's own. */
export function asepriteJson(opts: {
  name: string;
  image: string;
  version: string;
  size: { w: number; h: number };
  frameSize: { w: number; h: number };
  positions: { x: number; y: number }[];
  durationsMs: number[];
  tags: AsepriteJson['meta']['frameTags'];
}): AsepriteJson {
  const frames: AsepriteJson['frames'] = {};
  opts.positions.forEach((p, i) => {
    frames[`${opts.name} ${i}.aseprite`] = {
      frame: { x: p.x, y: p.y, w: opts.frameSize.w, h: opts.frameSize.h },
      rotated: false,
      trimmed: false,
      spriteSourceSize: { x: 0, y: 0, w: opts.frameSize.w, h: opts.frameSize.h },
      sourceSize: { w: opts.frameSize.w, h: opts.frameSize.h },
      duration: opts.durationsMs[i] ?? 100,
    };
  });
  return {
    frames,
    meta: {
      app: 'dgx-pixels',
      version: opts.version,
      image: opts.image,
      format: 'RGBA8888',
      size: opts.size,
      scale: '1',
      frameTags: opts.tags,
      layers: [{ name: 'Layer 1', opacity: 255, blendMode: 'normal' }],
      slices: [],
    },
  };
}
