import { z } from 'zod';
import { MANIFEST_VERSION, SPRITE_NAME } from './manifest-names.js';

/**
 * The zod mirror of shared/manifest.schema.json (the contract with the Rust
 * side). test/assets/manifest-schema.test.ts checks both agree on fixtures.
 * Objects are loose: unknown fields pass through and survive a rewrite.
 */

const relativePath = z
  .string()
  .regex(/^[^/\\\0][^\\\0]*$/, 'expected a relative path with "/" separators')
  .refine((p) => !/(^|\/)\.\.?(\/|$)/.test(p), 'expected no "." or ".." segment');

const xy = z.tuple([z.number().int().min(0), z.number().int().min(0)]);

export const FrameGridSchema = z.looseObject({
  columns: z.number().int().min(1),
  rows: z.number().int().min(1),
  frame_width: z.number().int().min(1),
  frame_height: z.number().int().min(1),
  padding: xy.optional(),
  offset: xy.optional(),
});

export const SpriteSourceSchema = z.looseObject({
  prompt: z.string().optional(),
  style: z.string().optional(),
  seed: z.number().int().optional(),
  model: z.string().optional(),
  lora: z.string().optional(),
  steps: z.number().int().min(1).optional(),
  cfg_scale: z.number().optional(),
  postprocess: z.record(z.string(), z.unknown()).optional(),
  pipeline_version: z.string().optional(),
  job_id: z.string().optional(),
  recipe_hash: z.string().optional(),
  /** Made by edit_sprite: a rebuild keeps it unless forced (the recipe would undo the edit). */
  edited: z.boolean().optional(),
});

export const ManifestEntrySchema = z
  .looseObject({
    name: z.string().regex(SPRITE_NAME, 'expected segments of [A-Za-z0-9_.-] joined by "/"'),
    path: relativePath,
    deployed_at: z.string().min(1),
    kind: z.enum(['sprite', 'sheet', 'tileset']),
    width: z.number().int().min(1),
    height: z.number().int().min(1),
    hash: z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lower-case hex digits (sha256)'),
    revision: z.number().int().min(1),
    grid: FrameGridSchema.optional(),
    atlas: relativePath.optional(),
    source: SpriteSourceSchema.optional(),
  })
  .refine((e) => e.kind === 'sprite' || e.grid !== undefined, {
    message: 'a sheet or tileset needs "grid"',
    path: ['grid'],
  });

export const ManifestSchema = z.looseObject({
  version: z.literal(MANIFEST_VERSION),
  updated_at: z.string().min(1),
  sprites: z.array(ManifestEntrySchema),
});

export type FrameGrid = z.infer<typeof FrameGridSchema>;
export type SpriteSource = z.infer<typeof SpriteSourceSchema>;
export type ManifestEntry = z.infer<typeof ManifestEntrySchema>;
export type Manifest = z.infer<typeof ManifestSchema>;
export type AssetKind = ManifestEntry['kind'];
