import { processCharacterSheet } from './character-sheet.js';
import { processSheet } from './process-sheet.js';
import { processSprite } from './process-sprite.js';

/**
 * The three pipeline entry points as one value, so a caller can run them on a
 * `SpritePool` (the daemon: worker threads, the main thread free for MCP) or
 * in-thread (`IN_THREAD`: one-shot CLI commands) without knowing which.
 */
export interface SpriteProcessor {
  processSprite: typeof processSprite;
  processSheet: typeof processSheet;
  processCharacterSheet: typeof processCharacterSheet;
  /**
   * Get ready for one more job without waiting (a pool starts its next thread), so a
   * job's generation hides the start-up; call when a job that will be post-processed starts.
   */
  warm(): void;
}

/** The pipeline on the calling thread. */
export const IN_THREAD: SpriteProcessor = {
  processSprite,
  processSheet,
  processCharacterSheet,
  warm: () => undefined,
};
