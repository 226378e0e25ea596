import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Config } from '../config/schema.js';
import { DaemonError } from '../errors.js';
import type { ServiceContext } from './context.js';

/** The palette name that means "the colours of the sprites already deployed". */
export const PROJECT_PALETTE = 'project';

const cache = new Map<string, { stamp: string; colours: number[] }>();

/**
 * The game's own palette: distinct opaque colours of every PNG the manifest of
 * `assetsRoot` lists (sprites, sheets, tilesets), capped at 256 real colours
 * (sprites/project-palette.ts). Cached until the manifest file changes.
 * @throws DaemonError('VALIDATION') when nothing is deployed yet.
 */
export async function projectPalette(config: Config, assetsRoot: string): Promise<number[]> {
  const manifestPath = resolve(assetsRoot, config.deployment.manifest_file);
  const info = await stat(manifestPath).catch(() => undefined);
  const stamp = info === undefined ? '' : `${info.mtimeMs}:${info.size}`;
  const hit = cache.get(assetsRoot);
  if (hit !== undefined && stamp !== '' && hit.stamp === stamp) return hit.colours;
  const [sprites, { readManifest }] = await Promise.all([
    import('../sprites/index.js'),
    import('../assets/manifest.js'),
  ]);
  const entries =
    info === undefined ? [] : (await readManifest(manifestPath, { assetsRoot })).manifest.sprites;
  const images = [];
  for (const entry of entries) {
    // a missing or broken file is the manifest check's business, not the palette's
    const png = await readFile(resolve(assetsRoot, entry.path)).catch(() => undefined);
    const img = png && (await sprites.decodeImage(png).catch(() => undefined));
    if (img) images.push(img);
  }
  const colours = sprites.paletteOfImages(images);
  if (colours.length === 0) {
    throw new DaemonError(
      'VALIDATION',
      `Validation error in palette: palette "project" takes the colours of the sprites deployed in ${manifestPath}, and there are none yet; deploy a sprite first, or pick a named palette (list_styles lists them).`,
    );
  }
  cache.set(assetsRoot, { stamp, colours });
  return colours;
}

/** `colours` as the sprites pipeline's palette option (a `#rrggbb` list). */
export function hexList(colours: number[]): string[] {
  return colours.map((c) => `#${c.toString(16).padStart(6, '0')}`);
}

/**
 * Check a request's palette name (a shipped palette or "project"); for "project"
 * return the game's colours as a `#rrggbb` list (the assets root is `assetsDir`,
 * jailed like deploy's, else the configured one). Throws DaemonError('VALIDATION').
 */
export async function paletteColoursFor(
  ctx: ServiceContext,
  palette: string | undefined,
  assetsDir: string | undefined,
): Promise<string[] | undefined> {
  if (palette === undefined) return undefined;
  if (palette === PROJECT_PALETTE) {
    const { resolveAssetsRoot } = await import('../assets/paths.js');
    const root = await resolveAssetsRoot({
      configured: ctx.config.deployment.bevy_assets_base,
      allowedRoots: ctx.config.deployment.allowed_roots,
      requested: assetsDir,
      cwd: ctx.cwd,
    });
    return hexList(await projectPalette(ctx.config, root));
  }
  const names = (await import('../sprites/index.js')).listPalettes().map((p) => p.name);
  if (!names.includes(palette)) {
    throw new DaemonError(
      'VALIDATION',
      `Validation error in palette: Palette must be one of: ${names.join(', ')}, ${PROJECT_PALETTE}; got "${palette}". Call list_styles to see each palette's colours; "${PROJECT_PALETTE}" uses the colours of the sprites already deployed.`,
    );
  }
  return undefined;
}
