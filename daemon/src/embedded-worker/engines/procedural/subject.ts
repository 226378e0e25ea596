import type { Rgb } from './colour.js';
import type { Rng } from './rng.js';

/** What the prompt asks for, read from its words. */
export type SpriteKind = 'character' | 'creature' | 'item' | 'tile';

export interface Subject {
  kind: SpriteKind;
  /** The word that chose the shape (`knight`, `slime`, `potion`, `grass`), or a generic one. */
  subtype: string;
  /** Colours named in the prompt, in order (`red cape, gold crown` → red, gold). */
  colours: Rgb[];
  /** Animation flavour: a walk cycle when the prompt says so, else idle. */
  motion: 'walk' | 'idle';
}

const KIND_WORDS: Record<SpriteKind, readonly string[]> = {
  character: [
    'knight',
    'warrior',
    'soldier',
    'wizard',
    'mage',
    'witch',
    'sorcerer',
    'archer',
    'ninja',
    'robot',
    'hero',
    'player',
    'character',
    'person',
    'villager',
    'king',
    'queen',
    'princess',
    'pirate',
    'adventurer',
    'rogue',
    'thief',
    'elf',
    'dwarf',
    'paladin',
    'merchant',
    'farmer',
  ],
  creature: [
    'slime',
    'dragon',
    'bat',
    'ghost',
    'spider',
    'wolf',
    'cat',
    'dog',
    'bird',
    'fish',
    'monster',
    'creature',
    'goblin',
    'skeleton',
    'zombie',
    'enemy',
    'frog',
    'snake',
    'beast',
    'blob',
    'demon',
    'boss',
    'mushroom',
    'jelly',
  ],
  item: [
    'sword',
    'potion',
    'coin',
    'gem',
    'key',
    'shield',
    'heart',
    'chest',
    'staff',
    'wand',
    'axe',
    'apple',
    'ring',
    'crystal',
    'item',
    'scroll',
    'bomb',
    'treasure',
    'gold',
    'pickup',
    'icon',
    'weapon',
    'dagger',
    'orb',
    'diamond',
    'flask',
    'bottle',
  ],
  tile: [
    'tile',
    'tiles',
    'tileset',
    'grass',
    'stone',
    'wall',
    'floor',
    'ground',
    'water',
    'brick',
    'bricks',
    'dirt',
    'sand',
    'lava',
    'wood',
    'wooden',
    'terrain',
    'ice',
    'snow',
    'cobblestone',
    'platform',
  ],
};

const COLOUR_WORDS: Record<string, Rgb> = {
  red: [200, 40, 40],
  crimson: [170, 20, 50],
  blue: [50, 90, 210],
  navy: [30, 40, 120],
  green: [50, 170, 60],
  emerald: [30, 150, 90],
  yellow: [240, 210, 50],
  gold: [230, 180, 40],
  golden: [230, 180, 40],
  purple: [130, 60, 180],
  violet: [150, 80, 200],
  orange: [240, 130, 30],
  pink: [240, 120, 170],
  black: [40, 40, 48],
  dark: [50, 45, 60],
  white: [235, 235, 240],
  grey: [128, 128, 135],
  gray: [128, 128, 135],
  silver: [190, 195, 205],
  brown: [130, 80, 40],
  cyan: [40, 200, 220],
  teal: [30, 140, 140],
  ice: [170, 220, 245],
  fire: [240, 90, 20],
};

/** Lower-case words of a prompt (letters and digits). */
export function promptWords(prompt: string): string[] {
  return prompt.toLowerCase().match(/[a-z0-9]+/g) ?? [];
}

/**
 * Choose the subject from the prompt's words; the first recognised shape word
 * wins, tiles win when the prompt says tile/tileset. Unknown prompts get a
 * seeded kind so every prompt still yields a plausible sprite.
 */
export function readSubject(prompt: string, rng: Rng, forceTile = false): Subject {
  const words = promptWords(prompt);
  const colours = words.flatMap((w) => (COLOUR_WORDS[w] ? [COLOUR_WORDS[w]] : []));
  const motion = words.some((w) => w.startsWith('walk') || w.startsWith('run')) ? 'walk' : 'idle';
  const wantsTile = forceTile || words.some((w) => w.startsWith('tile'));
  const kinds: SpriteKind[] = wantsTile ? ['tile'] : ['character', 'creature', 'item', 'tile'];
  for (const w of words) {
    for (const kind of kinds) {
      if (KIND_WORDS[kind].includes(w) && !(w === 'gold' && words.length > 1)) {
        return { kind, subtype: w, colours, motion };
      }
    }
  }
  if (wantsTile)
    return {
      kind: 'tile',
      subtype: rng.pick(['grass', 'stone', 'brick', 'dirt']),
      colours,
      motion,
    };
  const kind = rng.pick<SpriteKind>(['character', 'creature', 'item']);
  const generic = { character: 'hero', creature: 'monster', item: 'gem', tile: 'grass' }[kind];
  return { kind, subtype: generic, colours, motion };
}
