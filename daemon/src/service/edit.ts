import { DaemonError, isDaemonError } from '../errors.js';
import {
  conditioningKey,
  DEFAULT_EDIT_STRENGTH,
  Problems,
  readDeployedByName,
  readJailedFile,
} from './conditioning.js';
import type { ServiceContext } from './context.js';
import { startGeneration } from './generation.js';
import type { JobView, SpriteRequest } from './job-view.js';
import { paletteColoursFor } from './project-palette.js';
import { resolveAssetsRoot } from './stages.js';

/**
 * edit_sprite and `dgx-pixels edit`: repaint a region of an existing sprite. The
 * sprite (a deployed name, or a PNG path) is sent as the worker's `init_image` at
 * the generation size, the region as `mask` (white = repaint); the result is
 * post-processed to the sprite's own size, palette and anchor and then composited
 * onto the original in sprite space, so every pixel outside the mask is the
 * original's, byte for byte. With `name` the new sprite is deployed under the same
 * name by default (a new manifest revision).
 */
export interface EditRequest {
  /** A deployed sprite's name (manifest); or spritePath. */
  name?: string | undefined;
  /** A PNG sprite's path (through the jail); or name. */
  spritePath?: string | undefined;
  prompt: string;
  /** The region to repaint in sprite pixels; or maskPath; neither = the whole sprite. */
  mask?: { x: number; y: number; width: number; height: number } | undefined;
  /** A mask image, white = repaint (resized nearest-neighbour to the sprite when it differs). */
  maskPath?: string | undefined;
  /** 0..1, how much may change inside the mask (default 0.8). */
  strength?: number | undefined;
  seed?: number | undefined;
  /** Default: true with name, false with spritePath. */
  deploy?: boolean | undefined;
  /** Default: the sprite's own colours. */
  palette?: string | undefined;
  style: string;
  resolution: [number, number];
  steps: number;
  cfgScale: number;
  lora?: string | undefined;
  negativePrompt?: string | undefined;
  assetsDir?: string | undefined;
  outputPath?: string | undefined;
  thumbnail?: { maxSize: number; maxBytes: number } | undefined;
}

/** What edit_sprite says about sheets and character sets (refused). */
export const SHEET_EDIT_REFUSAL =
  'edit_sprite edits single sprites only (sheets, tilesets and character sets are refused); ' +
  'regenerate the set (generate_character or rebuild_sprites), or edit one frame saved as its own PNG via sprite_path';

/**
 * Validate an edit (every bad argument at once), build its init image and mask and
 * start it as a generation job; returns the job's first view at once.
 * Throws DaemonError (VALIDATION, BUSY, WORKER_UNREACHABLE …).
 */
export async function startEdit(ctx: ServiceContext, edit: EditRequest): Promise<JobView> {
  const problems = new Problems();
  const deploy = edit.deploy ?? edit.name !== undefined;
  if ((edit.name === undefined) === (edit.spritePath === undefined))
    problems.add(
      'name',
      'pass exactly one of name (a deployed sprite) or sprite_path (a PNG path)',
    );
  if (edit.mask !== undefined && edit.maskPath !== undefined)
    problems.add('mask', 'pass mask (a rectangle) or mask_path (an image), not both');
  if (deploy && edit.name === undefined)
    problems.add(
      'deploy',
      'deploy: true replaces a deployed sprite, so it needs name; with sprite_path the result goes to output_path (deploy it with deploy_to_bevy)',
    );
  let root: string | undefined;
  if (edit.name !== undefined || deploy) {
    try {
      root = await resolveAssetsRoot(ctx.config, edit.assetsDir, ctx.cwd);
    } catch (err) {
      problems.addError(edit.assetsDir === undefined ? 'name' : 'bevy_assets_dir', err);
    }
  }
  const {
    spriteTraits,
    rectMask,
    maskFromImage,
    maskArea,
    toGenerationImage,
    maskToGenerationImage,
  } = await import('../sprites/conditioning.js');
  let source: Awaited<ReturnType<typeof spriteTraits>> | undefined;
  const field = edit.name !== undefined ? 'name' : 'sprite_path';
  try {
    const read =
      edit.name !== undefined
        ? root === undefined
          ? undefined
          : await readDeployedByName(ctx, edit.name, 'name', root, SHEET_EDIT_REFUSAL)
        : edit.spritePath !== undefined
          ? await readJailedFile(ctx, edit.spritePath, 'sprite_path', root)
          : undefined;
    if (read !== undefined) source = await spriteTraits(read.bytes);
  } catch (err) {
    if (!isDaemonError(err)) throw err;
    problems.addError(field, err);
  }
  if (
    source !== undefined &&
    (source.width > edit.resolution[0] || source.height > edit.resolution[1])
  ) {
    problems.add(
      field,
      `the sprite is ${source.width}×${source.height}, larger than the generation size ${edit.resolution.join('×')}; edit a sprite-sized PNG (the post-processed output_path, not a raw_path) or pick a larger resolution`,
    );
    source = undefined;
  }
  let mask: Uint8Array | undefined;
  if (source !== undefined && edit.mask !== undefined) {
    const { x, y, width, height } = edit.mask;
    if (x + width > source.width || y + height > source.height) {
      problems.add(
        'mask',
        `{x: ${x}, y: ${y}, width: ${width}, height: ${height}} reaches outside the ${source.width}×${source.height} sprite; keep x + width ≤ ${source.width} and y + height ≤ ${source.height} (sprite pixels, origin top left)`,
      );
    } else mask = rectMask(source.width, source.height, edit.mask);
  }
  if (source !== undefined && edit.maskPath !== undefined) {
    try {
      const read = await readJailedFile(ctx, edit.maskPath, 'mask_path', root);
      mask = await maskFromImage(read.bytes, source.width, source.height);
      if (maskArea(mask) === 0)
        problems.add(
          'mask_path',
          'the mask has no white pixel, so nothing would be repainted; paint the region to change white (the rest black)',
        );
    } catch (err) {
      if (!isDaemonError(err)) throw err;
      problems.addError('mask_path', err);
    }
  }
  let paletteColours: string[] | undefined;
  try {
    paletteColours = await paletteColoursFor(ctx, edit.palette, edit.assetsDir);
  } catch (err) {
    if (!isDaemonError(err)) throw err;
    problems.addError('palette', err);
  }
  problems.throwIfAny();
  if (source === undefined) {
    throw new DaemonError('VALIDATION', 'Validation error in name: pass name or sprite_path');
  }
  const whole = mask === undefined;
  const spriteMask =
    mask ??
    rectMask(source.width, source.height, {
      x: 0,
      y: 0,
      width: source.width,
      height: source.height,
    });
  const initImage = await toGenerationImage(source.image, edit.resolution);
  const maskImage = whole
    ? undefined
    : await maskToGenerationImage(spriteMask, source.width, source.height, edit.resolution);
  const strength = edit.strength ?? DEFAULT_EDIT_STRENGTH;
  // a named palette is resolved by startGeneration; "project" here; else the sprite's own colours
  const colours = edit.palette === undefined ? source.palette : paletteColours;
  const request: SpriteRequest = {
    prompt: edit.prompt,
    style: edit.style,
    resolution: edit.resolution,
    steps: edit.steps,
    cfgScale: edit.cfgScale,
    lora: edit.lora,
    outputPath: edit.outputPath,
    postprocess: true,
    size: [source.width, source.height],
    palette: edit.palette,
    ...(colours !== undefined && colours.length > 0
      ? { paletteColours: colours, colors: Math.min(256, colours.length) }
      : {}),
    seed: edit.seed,
    negativePrompt: edit.negativePrompt,
    name: edit.name,
    deploy,
    assetsDir: edit.assetsDir,
    thumbnail: edit.thumbnail,
    conditioning: {
      initImage,
      strength,
      mask: maskImage,
      composite: { original: source.image, mask: spriteMask },
      key: conditioningKey({ initImage, strength, mask: maskImage }),
    },
  };
  return startGeneration(ctx, request);
}
