import { basename } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ContentBlock } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { Config } from '../../config/schema.js';
import {
  commonGenerationShape,
  spriteNameField,
  spriteOptionsShape,
  thumbnailFields,
} from '../fields.js';
import { defineTool } from '../tool-registry.js';
import { THUMBNAIL_MAX_BYTES } from './generate-sprite.js';

const pair = z.tuple([z.number(), z.number()]);

const ProcessResultSchema = z.object({
  status: z.enum(['success', 'error']),
  output_path: z.string().nullable().describe('The finished sprite PNG'),
  error: z.string().nullable(),
  image_path: z.string().optional().describe('The input image, absolute'),
  kind: z
    .enum(['sprite', 'sheet', 'tileset'])
    .optional()
    .describe('sheet: animation strip; tileset: grid of tiles'),
  width: z.number().int().optional(),
  height: z.number().int().optional(),
  cell_size: pair
    .optional()
    .describe('Source pixels per sprite pixel [x, y] the grid detection found'),
  logical_size: pair.optional().describe('Cells [w, h] the grid detection found'),
  confidence: z
    .number()
    .optional()
    .describe('0..1 grid confidence; below 0.3 pass size to force the sprite size'),
  colors: z.number().int().optional().describe('Colours in the output'),
  palette: z.array(z.string()).optional().describe('Colours in the output, most used first'),
  deployed_path: z.string().nullable().optional(),
  manifest_updated: z.boolean().optional(),
  sprite_uri: z.string().nullable().optional().describe('sprites://NAME once deployed'),
});

export function processSpriteTool(config: Config) {
  const { style } = commonGenerationShape(config);
  const { size, palette, colors, remove_background, outline, animation_frames, tileset_grid } =
    spriteOptionsShape(config);
  const input = z.strictObject({
    image_path: z
      .string({ error: 'image_path must be a file path' })
      .min(1, { error: 'image_path must be a file path' })
      .describe(
        'The image to turn into a sprite: PNG, JPEG or WebP (any model output, e.g. a raw_path of generate_sprite)',
      ),
    style,
    size,
    palette,
    colors,
    remove_background,
    outline,
    animation_frames: animation_frames.describe(
      'The image is an animation strip of this many frames side by side → sprite sheet',
    ),
    tileset_grid: tileset_grid.describe('The image is a tileset of [columns, rows] tiles'),
    output_path: z
      .string({ error: 'output_path must be a file path' })
      .regex(/\.png$/i, { error: 'output_path must end in .png' })
      .optional()
      .describe('Where to write the sprite (default: a new file in the state dir)'),
    name: spriteNameField.optional(),
    deploy: z
      .boolean({ error: 'deploy must be true or false' })
      .default(false)
      .describe(
        'Also deploy the sprite into the Bevy assets folder under `name` (WRITES the assets and asset_manifest.json)',
      ),
    bevy_assets_dir: z
      .string({ error: 'bevy_assets_dir must be a folder path' })
      .min(1, { error: 'bevy_assets_dir must be a folder path' })
      .optional()
      .describe(
        'Bevy assets folder for deploy and palette "project" (default: deployment.bevy_assets_base)',
      ),
    ...thumbnailFields(),
  });
  return defineTool({
    name: 'process_sprite',
    title: 'Post-process an existing image into a sprite',
    description:
      'Turn an existing image (a path: another model\'s output, an upscaled "pixel-art picture", a drawing) into clean ' +
      'pixel art with the same post-processing as generate_sprite: grid detection, size, palette (a named one or ' +
      '"project": the colours of the sprites already deployed), transparent background, outline, animation strips and ' +
      'tilesets. No GPU. Without deploy it leaves the game alone and only writes a new output file. With deploy: true (and name) it also ' +
      'WRITES the sprite into the Bevy assets folder and asset_manifest.json, replacing a deployed sprite of that name ' +
      '(the same input deploys the same bytes, so a repeat changes nothing).',
    input,
    output: ProcessResultSchema,
    // Annotations are per tool, not per call, and the MCP spec ignores the destructive and
    // idempotent hints of a read-only tool: a client that auto-approves read-only tools would let
    // deploy: true through. So it is not read-only (it always writes its output file); the
    // destructive and idempotent hints describe deploy: true (it replaces a same-named sprite,
    // and repeating it leaves the same bytes).
    annotations: {
      readOnlyHint: false,
      destructiveHint: true,
      idempotentHint: true,
      openWorldHint: false,
    },
    failurePrefix: 'Processing failed',
    errorShape: { output_path: null },
    async run(args, ctx) {
      const r = await ctx.service.processImage({
        imagePath: args.image_path,
        style: args.style,
        size: args.size,
        palette: args.palette,
        colors: args.colors,
        removeBackground: args.remove_background,
        outline: args.outline,
        animationFrames: args.animation_frames,
        tilesetGrid: args.tileset_grid,
        outputPath: args.output_path,
        name: args.name,
        deploy: args.deploy,
        assetsDir: args.bevy_assets_dir,
        thumbnail: args.thumbnail
          ? { maxSize: args.thumbnail_size, maxBytes: THUMBNAIL_MAX_BYTES }
          : undefined,
      });
      const d = r.detected;
      const content: ContentBlock[] = [
        {
          type: 'resource_link',
          uri: pathToFileURL(r.outputPath).href,
          name: basename(r.outputPath),
          mimeType: 'image/png',
          description: 'The finished sprite',
        },
      ];
      if (r.deployed !== undefined) {
        content.push({
          type: 'resource_link',
          uri: `sprites://${r.deployed.name}`,
          name: r.deployed.name,
          mimeType: 'image/png',
          description: `Deployed to ${r.deployed.relativePath}`,
        });
      }
      if (r.thumbnailPng !== undefined)
        content.push({
          type: 'image',
          data: r.thumbnailPng.toString('base64'),
          mimeType: 'image/png',
        });
      return {
        structured: {
          status: 'success' as const,
          output_path: r.outputPath,
          error: null,
          image_path: r.imagePath,
          kind: r.sheet?.kind ?? ('sprite' as const),
          width: r.width,
          height: r.height,
          ...(d === undefined
            ? {}
            : { cell_size: d.cellSize, logical_size: d.logicalSize, confidence: d.confidence }),
          ...(r.palette === undefined ? {} : { colors: r.palette.length, palette: r.palette }),
          deployed_path: r.deployed?.deployedPath ?? null,
          manifest_updated: r.deployed?.manifestUpdated ?? false,
          sprite_uri: r.deployed ? `sprites://${r.deployed.name}` : null,
        },
        content,
      };
    },
  });
}
