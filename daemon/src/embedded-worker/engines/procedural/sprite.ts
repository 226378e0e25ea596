import { MaterialCanvas } from './canvas.js';
import type { Rgb } from './colour.js';
import { drawCharacter } from './draw-character.js';
import { drawCreature } from './draw-creature.js';
import { drawItem } from './draw-item.js';
import { drawTile } from './draw-tile.js';
import { createRng, hashString } from './rng.js';
import { resolveStyle, type StyleName } from './styles.js';
import { readSubject, type SpriteKind } from './subject.js';

/** The inputs of one logical sprite. Same inputs → same pixels. */
export interface DrawSpriteParams {
  prompt: string;
  /** Default 0; any 32-bit integer. */
  seed?: number;
  /** 8bit | 16bit | pixel_art | retro | game_sprite; anything else draws as pixel_art. */
  style?: string;
  /** Animation frame index (walk/idle pose); default 0. */
  frame?: number;
  /** Tile index within a tileset (varies the interior, keeps border and palette). */
  tileIndex?: number;
  /** Draw a terrain tile whatever the prompt says (tilesets). */
  forceTile?: boolean;
  /**
   * Extension `pose`: a character turned this way (south, east, north_west, …), drawn
   * as a humanoid whatever the prompt's subject word; same colours and proportions
   * for every facing of one (prompt, seed).
   */
  facing?: string;
  /** With `facing`: walk cycle, idle bob, or one still standing frame (default from the prompt). */
  motion?: 'walk' | 'idle' | 'stand';
}

/** A sprite at its logical resolution: what a perfect post-processor would recover. */
export interface LogicalSprite {
  width: number;
  height: number;
  /** RGBA, row-major, alpha 0 outside the sprite (255 inside). */
  rgba: Uint8Array;
  kind: SpriteKind;
  subtype: string;
  style: StyleName;
  /** Distinct opaque colours used. */
  colours: Rgb[];
}

/**
 * Draw a plausible game sprite for a prompt at the style's logical resolution
 * (8bit 16 px, retro 24, pixel_art/16bit 32, game_sprite 48): the kind
 * (character, creature, item, tile) comes from the prompt's words, shapes are
 * left/right symmetric, shaded from the top-left and outlined.
 */
export function drawSprite(params: DrawSpriteParams): LogicalSprite {
  const spec = resolveStyle(params.style);
  const seed = params.seed ?? 0;
  const base = hashString(params.prompt.toLowerCase().trim(), seed);
  const subject = readSubject(
    params.prompt,
    createRng(base ^ 0x51b1ec7),
    params.forceTile === true,
  );
  const canvas = new MaterialCanvas(spec.size);
  const shapeRng = createRng(base ^ 0x5a4e);
  const frame = params.frame ?? 0;
  if (params.facing !== undefined) {
    subject.kind = 'character';
    drawCharacter(canvas, shapeRng, subject, frame, params.facing, params.motion);
  } else
    switch (subject.kind) {
      case 'character':
        drawCharacter(canvas, shapeRng, subject, frame);
        break;
      case 'creature':
        drawCreature(canvas, shapeRng, subject, frame);
        break;
      case 'item':
        drawItem(canvas, shapeRng, subject, frame);
        break;
      case 'tile': {
        const tileRng = createRng(hashString(`tile:${params.tileIndex ?? 0}`, base));
        drawTile(canvas, tileRng, createRng(base ^ 0xed9e), spec, subject, frame);
        break;
      }
    }
  const { rgba, colours } = canvas.toRgba(spec, subject.kind !== 'tile');
  return {
    width: spec.size,
    height: spec.size,
    rgba,
    kind: subject.kind,
    subtype: subject.subtype,
    style: spec.name,
    colours,
  };
}
