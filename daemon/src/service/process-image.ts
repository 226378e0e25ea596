import { randomUUID } from 'node:crypto';
import { open } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DaemonError, errorMessage } from '../errors.js';
import type { ServiceContext } from './context.js';
import { deploySprite } from './deploy.js';
import { checkWritable, writeFileAtomic } from './files.js';
import { paletteColoursFor } from './project-palette.js';
import type { DeployResult, ProcessedSprite } from './results.js';
import { type PostprocessRequest, processSprite, thumbnail } from './stages.js';

/** Largest input file process_sprite reads (a 64 Mpx PNG is far smaller). */
export const MAX_IMAGE_BYTES = 256 * 1024 * 1024;

/** What SpriteService.processImage takes: an existing image and generate_sprite's post-processing. */
export interface ProcessImageInput extends PostprocessRequest {
  /** The image to post-process (PNG, JPEG, WebP …), relative to the daemon's cwd. */
  imagePath: string;
  /** Where the sprite goes; default `<state_dir>/sprites/processed-<id>.png`. */
  outputPath?: string | undefined;
  /** Also deploy under `name` into `assetsDir` (default: the configured assets root). */
  deploy: boolean;
  assetsDir?: string | undefined;
  thumbnail?: { maxSize: number; maxBytes: number } | undefined;
}

export interface ProcessImageResult extends ProcessedSprite {
  imagePath: string;
  outputPath: string;
  deployed: DeployResult | undefined;
  thumbnailPng: Buffer | undefined;
}

/**
 * Post-process an image that already exists (any model's output, a drawing, a
 * screenshot) exactly as a generation job post-processes the worker's image,
 * then optionally deploy it through the same deploy path. Nothing is written
 * but the output file (and, with deploy, the assets and manifest).
 * Throws DaemonError (VALIDATION, PATH_INVALID, PATH_OUTSIDE_ASSETS, BAD_IMAGE…).
 */
export async function processImage(
  ctx: ServiceContext,
  input: ProcessImageInput,
): Promise<ProcessImageResult> {
  if (input.deploy && input.name === undefined) {
    throw new DaemonError(
      'VALIDATION',
      'Validation error in name: deploy: true needs a sprite name; pass name, e.g. "knight_idle"',
    );
  }
  if (input.outputPath !== undefined) checkWritable(ctx, input.outputPath, 'output_path');
  const paletteColours = await paletteColoursFor(ctx, input.palette, input.assetsDir);
  const request = paletteColours === undefined ? input : { ...input, paletteColours };
  const { path: imagePath, bytes } = await readImage(ctx.cwd, input.imagePath);
  const processed = await processSprite(await ctx.sprites(), bytes, request);
  const target =
    input.outputPath ?? join(ctx.stateDir, 'sprites', `processed-${randomUUID().slice(0, 8)}.png`);
  const outputPath = await writeFileAtomic(ctx.cwd, target, processed.png);
  const thumbnailPng =
    input.thumbnail === undefined ? undefined : await thumbnail(processed.png, input.thumbnail);
  let deployed: DeployResult | undefined;
  if (input.deploy && input.name !== undefined) {
    deployed = await deploySprite(ctx, {
      spritePath: outputPath,
      png: processed.png,
      assetsDir: input.assetsDir,
      name: input.name,
      updateManifest: true,
      sheet: processed.sheet,
    });
  }
  return { ...processed, imagePath, outputPath, deployed, thumbnailPng };
}

/** The input image's bytes: a regular file of at most MAX_IMAGE_BYTES. Throws PATH_INVALID. */
async function readImage(cwd: string, path: string): Promise<{ path: string; bytes: Buffer }> {
  const abs = resolve(cwd, path);
  const fail = (why: string, cause?: unknown) =>
    new DaemonError(
      'PATH_INVALID',
      `Validation error in image_path: ${abs} ${why}; pass the path of a PNG, JPEG or WebP file (e.g. a raw_path or output_path an earlier call returned)`,
      { cause },
    );
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(abs, 'r');
  } catch (err) {
    throw fail(`cannot be read (${errorMessage(err)})`, err);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw fail('is not a regular file');
    if (info.size > MAX_IMAGE_BYTES)
      throw fail(`is ${info.size} bytes, more than ${MAX_IMAGE_BYTES} (256 MB)`);
    return { path: abs, bytes: await handle.readFile() };
  } finally {
    await handle.close();
  }
}
