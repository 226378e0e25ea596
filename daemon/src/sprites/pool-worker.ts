import { parentPort } from 'node:worker_threads';
import { DaemonError, errorMessage } from '../errors.js';
import {
  type CharacterLayout,
  type CharacterSheetOptions,
  processCharacterSheet,
} from './character-sheet.js';
import { processSheet, type SheetLayout, type SheetOptions } from './process-sheet.js';
import { processSprite } from './process-sprite.js';
import type { SpriteOptions } from './settings.js';

/** One job sent by `SpritePool` (see pool.ts). */
export type PoolRequest =
  | { id: number; kind: 'sprite'; input: Uint8Array; options: SpriteOptions }
  | { id: number; kind: 'sheet'; input: Uint8Array; layout: SheetLayout; options: SheetOptions }
  | {
      id: number;
      kind: 'character';
      input: Uint8Array;
      layout: CharacterLayout;
      options: CharacterSheetOptions;
    };

function run(req: PoolRequest) {
  switch (req.kind) {
    case 'sprite':
      return processSprite(req.input, req.options);
    case 'sheet':
      return processSheet(req.input, req.layout, req.options);
    case 'character':
      return processCharacterSheet(req.input, req.layout, req.options);
  }
}

// Runs pipeline jobs off the main thread so the JS stages of several sprites use
// several cores. The pool sends a thread at most two jobs at a time; PNG bytes go back as a
// transferred ArrayBuffer (no copy).
parentPort?.on('message', async (req: PoolRequest) => {
  try {
    const result = await run(req);
    const png = new Uint8Array(result.png.buffer, result.png.byteOffset, result.png.length).slice();
    parentPort?.postMessage({ id: req.id, ok: true, result: { ...result, png } }, [png.buffer]);
  } catch (err) {
    const code = err instanceof DaemonError ? err.code : 'BAD_IMAGE';
    parentPort?.postMessage({ id: req.id, ok: false, code, message: errorMessage(err) });
  }
});
