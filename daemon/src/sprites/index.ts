/**
 * Sprite post-processing: raw model output → clean pixel-art sprites, sheets and
 * tilesets. `processSprite` and `processSheet` are the entry points the service
 * and the CLI call; everything else is exported for tools and tests.
 */

export {
  type CharacterAnimation,
  type CharacterLayout,
  type CharacterSheetOptions,
  characterLayout,
  type ProcessedCharacterSheet,
  processCharacterSheet,
  tagName,
} from './character-sheet.js';
export { decodeImage, encodePng } from './decode.js';
export { listPalettes, resolvePalette } from './palettes.js';
export type { Detected } from './pipeline.js';
export { SpritePool } from './pool.js';
export {
  type ProcessedSheet,
  processSheet,
  type SheetLayout,
  type SheetOptions,
} from './process-sheet.js';
export { type ProcessedSprite, processSprite } from './process-sprite.js';
export { IN_THREAD, type SpriteProcessor } from './processor.js';
export {
  formatPalette,
  type PaletteFileFormat,
  PROJECT_PALETTE_MAX,
  paletteFormatOf,
  paletteOfImages,
} from './project-palette.js';
export { type EffectiveSettings, PIPELINE_VERSION, type SpriteOptions } from './settings.js';
export {
  type AsepriteJson,
  type AtlasGrid,
  type ManifestGrid,
  manifestGrid,
} from './sheet-layout.js';
export { listStyles, resolveSpriteOptions } from './styles.js';
export { makeThumbnail, type ThumbnailOptions } from './thumbnail.js';
