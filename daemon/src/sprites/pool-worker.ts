import { parentPort } from 'node:worker_threads';
import { DaemonError, errorMessage } from '../errors.js';
import { processSheet, type SheetLayout, type SheetOptions } from './process-sheet.js';
import { processSprite } from './process-sprite.js';
import type { SpriteOptions } from './settings.js';

/** One job sent by `SpritePool` (see pool.ts). */
export type PoolRequest =
  | { id: number; kind: 'sprite'; input: Uint8Array; options: SpriteOptions }
  | { id: number; kind: 'sheet'; input: Uint8Array; layout: SheetLayout; options: SheetOptions };

// Runs pipeline jobs off the main thread so the JS stages of several sprites use
// several cores; PNG bytes go back as a transferred ArrayBuffer (no copy).
parentPort?.on('message', async (req: PoolRequest) => {
  try {
    const result =
      req.kind === 'sprite'
        ? await processSprite(req.input, req.options)
        : await processSheet(req.input, req.layout, req.options);
    const png = new Uint8Array(result.png.buffer, result.png.byteOffset, result.png.length).slice();
    parentPort?.postMessage({ id: req.id, ok: true, result: { ...result, png } }, [png.buffer]);
  } catch (err) {
    const code = err instanceof DaemonError ? err.code : 'BAD_IMAGE';
    parentPort?.postMessage({ id: req.id, ok: false, code, message: errorMessage(err) });
  }
});
