import { createHash } from 'node:crypto';
import { open, realpath } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DaemonError, errorMessage, isDaemonError } from '../errors.js';
import type { ServiceContext } from './context.js';
import type { Conditioning, SpriteRequest } from './job-view.js';
import { readAssetsManifest, resolveAssetsRoot } from './stages.js';

/**
 * Image-conditioned generation, the service's half (issue 15): the sprites and
 * pictures a call names (deployed sprite names, PNG paths) are read through the
 * project jail, turned into the worker's `init_image` / `mask` / `reference_images`
 * (sprites/conditioning.ts) and into the post-processing that keeps a variant
 * drop-in: the source's logical size, palette and anchor.
 */

/** Most references one call may name. */
export const MAX_REFERENCES = 4;
/** strength of edit_sprite when none is given: the masked part is mostly redrawn. */
export const DEFAULT_EDIT_STRENGTH = 0.8;
/** strength of init_image when none is given: about as much kept as changed. */
export const DEFAULT_INIT_STRENGTH = 0.6;
/** Largest file a caller may name as a sprite, mask, reference or init image. */
const MAX_INPUT_BYTES = 64 * 1024 * 1024;

/** Every bad argument of one call, reported at once (one line each). */
export class Problems {
  readonly lines: string[] = [];
  add(field: string, text: string): void {
    this.lines.push(`Validation error in ${field}: ${text}`);
  }
  /** Record a thrown error under `field` (a DaemonError's own text, else the message). */
  addError(field: string, err: unknown): void {
    const text = errorMessage(err).replace(/^Validation error in [^:]+: /, '');
    this.add(field, text);
  }
  throwIfAny(): void {
    if (this.lines.length > 0) throw new DaemonError('VALIDATION', this.lines.join('\n'));
  }
}

/**
 * A file a caller names (sprite_path, mask_path, reference, init_image): it must lie
 * inside the assets root, deployment.allowed_roots, the state dir or the working
 * directory, also after symlinks are resolved, and be a regular file of at most 64 MiB.
 * Throws DaemonError('VALIDATION') naming `field` and the fix.
 */
export async function readJailedFile(
  ctx: ServiceContext,
  path: string,
  field: string,
  assetsRoot?: string,
): Promise<{ path: string; bytes: Buffer }> {
  const fail = (why: string) =>
    new DaemonError('VALIDATION', `Validation error in ${field}: ${why}`);
  if (path.includes('\0')) throw fail('the path contains a NUL byte; remove it');
  const { isInside } = await import('../assets/paths.js');
  const abs = resolve(ctx.cwd, path);
  const roots = [
    assetsRoot,
    ctx.defaultAssetsRoot,
    ...ctx.config.deployment.allowed_roots.map((r) => resolve(ctx.cwd, r)),
    ctx.stateDir,
    ctx.cwd,
  ].filter((r): r is string => r !== undefined);
  const where = `the assets folder, a deployment.allowed_roots entry, the state dir or ${ctx.cwd}`;
  if (!roots.some((root) => isInside(root, abs))) {
    throw fail(`${abs} is outside the project; pass a PNG inside ${where}`);
  }
  let real: string;
  try {
    real = await realpath(abs);
  } catch (err) {
    throw fail(
      `${abs} cannot be read (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}); pass an existing PNG, e.g. an output_path an earlier call returned`,
    );
  }
  const realRoots = await Promise.all(roots.map((r) => realpath(r).catch(() => r)));
  if (!realRoots.some((root) => isInside(root, real))) {
    throw fail(
      `${abs} is a symlink to ${real}, outside the project; pass the file itself inside ${where}`,
    );
  }
  const handle = await open(real, 'r').catch((err: unknown) => {
    throw fail(`${abs} cannot be read (${errorMessage(err)}); pass a readable PNG`);
  });
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw fail(`${abs} is not a regular file; pass a PNG file`);
    if (info.size > MAX_INPUT_BYTES)
      throw fail(`${abs} is ${info.size} bytes, over 64 MiB; pass a sprite-sized PNG`);
    return { path: abs, bytes: await handle.readFile() };
  } finally {
    await handle.close();
  }
}

/**
 * A deployed single sprite by its manifest name, read through the jail (name rules,
 * path inside the assets root after symlinks). `sheetAdvice` says what to do when the
 * name is a sheet or tileset. Throws DaemonError('VALIDATION') naming `field`.
 */
export async function readDeployedByName(
  ctx: ServiceContext,
  name: string,
  field: string,
  assetsRoot: string,
  sheetAdvice: string,
): Promise<{ path: string; bytes: Buffer }> {
  const fail = (why: string) =>
    new DaemonError('VALIDATION', `Validation error in ${field}: ${why}`);
  const { assertSafeRelativeName, assertInsideRoot } = await import('../assets/paths.js');
  try {
    assertSafeRelativeName(name, field);
  } catch (err) {
    throw fail(errorMessage(err));
  }
  const sprites = (await readAssetsManifest(ctx.config, assetsRoot)).sprites;
  const entry = sprites.find((s) => s.name === name);
  if (entry === undefined) {
    const known = sprites.map((s) => s.name);
    throw fail(
      `no sprite "${name}" is deployed in ${assetsRoot}; known: ${known.slice(0, 20).join(', ') || 'none yet'}${known.length > 20 ? ', …' : ''}. Pass a deployed sprite's name (resource sprites://manifest lists them) or a PNG path ending in .png`,
    );
  }
  if (entry.kind !== 'sprite') {
    throw fail(
      `"${name}" is a ${entry.kind} (${entry.width}×${entry.height}), not a single sprite; ${sheetAdvice}`,
    );
  }
  let path: string;
  try {
    path = await assertInsideRoot(assetsRoot, entry.path);
  } catch (err) {
    throw fail(errorMessage(err));
  }
  const read = await readJailedFile(ctx, path, field, assetsRoot);
  return read;
}

/** A sprite name or a path: a value ending in .png is a path, anything else a deployed sprite's name. */
export function isPngPath(value: string): boolean {
  return /\.png$/i.test(value);
}

/** The assets root of a request, an error recorded under bevy_assets_dir. */
async function assetsRootOr(
  ctx: ServiceContext,
  assetsDir: string | undefined,
  problems: Problems,
): Promise<string | undefined> {
  try {
    return await resolveAssetsRoot(ctx.config, assetsDir, ctx.cwd);
  } catch (err) {
    problems.addError(assetsDir === undefined ? 'name' : 'bevy_assets_dir', err);
    return undefined;
  }
}

type Traits = Awaited<ReturnType<typeof import('../sprites/conditioning.js').spriteTraits>>;

/** Decode a named input; a bad image is recorded under `field`. */
async function traitsOr(
  bytes: Buffer,
  field: string,
  problems: Problems,
): Promise<Traits | undefined> {
  const { spriteTraits } = await import('../sprites/conditioning.js');
  try {
    return await spriteTraits(bytes);
  } catch (err) {
    problems.add(field, `${errorMessage(err)} Pass a PNG sprite.`);
    return undefined;
  }
}

/** sha256 of the conditioning inputs (raw-output cache key part). */
export function conditioningKey(parts: {
  initImage?: Buffer | undefined;
  strength?: number | undefined;
  mask?: Buffer | undefined;
  referenceImages?: Buffer[] | undefined;
}): string {
  const h = createHash('sha256');
  const digest = (b: Buffer | undefined) =>
    b === undefined ? '-' : createHash('sha256').update(b).digest('hex');
  h.update(
    `init:${digest(parts.initImage)};strength:${parts.strength ?? '-'};mask:${digest(parts.mask)}`,
  );
  for (const r of parts.referenceImages ?? []) h.update(`;ref:${digest(r)}`);
  return h.digest('hex');
}

/**
 * generate_sprite / generate_batch with `reference` and/or `init_image`: read each
 * (names from the manifest, paths through the jail), report every bad one at once,
 * and return the request with its `conditioning`, and the source's logical size,
 * palette and anchor unless `size` / `palette` are given. The source is the first
 * reference, else an init image of at most 256 px a side (a larger one is a picture,
 * not a sprite: only sent). Throws DaemonError('VALIDATION').
 */
export async function withConditioning(
  ctx: ServiceContext,
  request: SpriteRequest,
): Promise<SpriteRequest> {
  const refs = request.reference ?? [];
  if (request.conditioning !== undefined) return request;
  const problems = new Problems();
  if (refs.length === 0 && request.initImagePath === undefined) {
    if (request.strength !== undefined)
      problems.add(
        'strength',
        'strength says how much of init_image may change; pass init_image (a PNG path) too, or leave strength out',
      );
    problems.throwIfAny();
    return request;
  }
  if ((request.animationFrames ?? 1) > 1)
    problems.add(
      'animation_frames',
      'reference and init_image make one sprite; leave animation_frames out (generate_character draws a character set)',
    );
  if (request.tilesetGrid !== undefined)
    problems.add(
      'tileset_grid',
      'reference and init_image make one sprite; leave tileset_grid out',
    );
  if (refs.length > MAX_REFERENCES)
    problems.add(
      'reference',
      `at most ${MAX_REFERENCES} references; got ${refs.length}. Keep the ones that show the character best`,
    );
  const needsRoot = refs.some((r) => !isPngPath(r));
  const root = needsRoot ? await assetsRootOr(ctx, request.assetsDir, problems) : undefined;
  const sheetAdvice =
    'a reference must be one sprite; reference a single deployed sprite, or a PNG path of one frame';
  const readOne = async (value: string, field: string, pathOnly = false) => {
    try {
      const read =
        pathOnly || isPngPath(value)
          ? await readJailedFile(ctx, value, field, root)
          : root === undefined
            ? undefined
            : await readDeployedByName(ctx, value, field, root, sheetAdvice);
      return read === undefined ? undefined : await traitsOr(read.bytes, field, problems);
    } catch (err) {
      if (!isDaemonError(err)) throw err;
      problems.addError(field, err);
      return undefined;
    }
  };
  const references = await Promise.all(
    refs.slice(0, MAX_REFERENCES).map((r, i) => readOne(r, `reference[${i}]`)),
  );
  const init =
    request.initImagePath === undefined
      ? undefined
      : await readOne(request.initImagePath, 'init_image', true);
  problems.throwIfAny();
  const { toGenerationImage, MAX_SPRITE_SIDE } = await import('../sprites/conditioning.js');
  const initIsSprite =
    init !== undefined && init.width <= MAX_SPRITE_SIDE && init.height <= MAX_SPRITE_SIDE;
  const source = references[0] ?? (initIsSprite ? init : undefined);
  const initImage = init && (await toGenerationImage(init.image, request.resolution));
  const referenceImages = await Promise.all(
    references.map((r) => toGenerationImage((r as Traits).image, request.resolution)),
  );
  const strength = init === undefined ? undefined : (request.strength ?? DEFAULT_INIT_STRENGTH);
  const conditioning: Conditioning = {
    initImage,
    strength,
    referenceImages: referenceImages.length > 0 ? referenceImages : undefined,
    key: conditioningKey({ initImage, strength, referenceImages }),
  };
  let out: SpriteRequest = { ...request, conditioning };
  if (source !== undefined) {
    const size: [number, number] = request.size ?? [source.width, source.height];
    const sameSize = size[0] === source.width && size[1] === source.height;
    if (sameSize && source.anchor !== undefined) conditioning.anchor = source.anchor;
    out = { ...out, size };
    if (request.palette === undefined && source.palette.length > 0) {
      out = {
        ...out,
        paletteColours: source.palette,
        colors: request.colors ?? Math.min(256, source.palette.length),
      };
    }
  }
  return out;
}
