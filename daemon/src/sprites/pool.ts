import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { DaemonError, type DaemonErrorCode } from '../errors.js';
import type { PoolRequest } from './pool-worker.js';
import type { ProcessedSheet, SheetLayout, SheetOptions } from './process-sheet.js';
import type { ProcessedSprite } from './process-sprite.js';
import type { SpriteOptions } from './settings.js';

type Reply =
  | { id: number; ok: true; result: (ProcessedSprite | ProcessedSheet) & { png: Uint8Array } }
  | { id: number; ok: false; code: DaemonErrorCode; message: string };

interface Pending {
  resolve: (r: ProcessedSprite | ProcessedSheet) => void;
  reject: (e: Error) => void;
}

/**
 * A few worker threads running the pipeline, for callers with many sprites at
 * once (batches, sheets, rebuilds): grid detection and downscale are JavaScript
 * and would otherwise share one core. Same results as `processSprite` /
 * `processSheet` in-thread. Default size: min(4, available cores). `close()` when done.
 */
export class SpritePool {
  private readonly workers: Worker[] = [];
  private readonly load: number[] = [];
  private readonly pending = new Map<number, Pending & { worker: number }>();
  private nextId = 1;

  constructor(options: { threads?: number } = {}) {
    const threads = Math.max(1, options.threads ?? Math.min(4, availableParallelism()));
    // Under tsx (tests, benches) this module is TypeScript: start the worker the same way.
    const fromSource = import.meta.url.endsWith('.ts');
    const url = new URL(fromSource ? './pool-worker.ts' : './pool-worker.js', import.meta.url);
    for (let i = 0; i < threads; i++) {
      // tsx's loader must be registered inside the thread before the .ts module loads.
      const worker = fromSource
        ? new Worker(
            `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`,
            { eval: true },
          )
        : new Worker(url);
      worker.on('message', (reply: Reply) => this.settle(reply));
      worker.on('error', (err) => this.failWorker(i, err));
      worker.unref(); // idle threads must not keep the process alive; busy ones are ref'd in run()
      this.workers.push(worker);
      this.load.push(0);
    }
  }

  /** `processSprite` on the least-loaded thread. */
  processSprite(input: Buffer | Uint8Array, options: SpriteOptions = {}): Promise<ProcessedSprite> {
    return this.run({
      kind: 'sprite',
      input: Uint8Array.from(input),
      options,
    }) as Promise<ProcessedSprite>;
  }

  /** `processSheet` on the least-loaded thread. */
  processSheet(
    input: Buffer | Uint8Array,
    layout: SheetLayout,
    options: SheetOptions = {},
  ): Promise<ProcessedSheet> {
    return this.run({
      kind: 'sheet',
      input: Uint8Array.from(input),
      layout,
      options,
    }) as Promise<ProcessedSheet>;
  }

  /** Stops the threads; jobs still running are rejected. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    for (const p of this.pending.values())
      p.reject(new DaemonError('JOB_CANCELLED', 'Sprite pool closed before the job finished.'));
    this.pending.clear();
  }

  private run(
    job: PoolRequest extends infer R ? (R extends PoolRequest ? Omit<R, 'id'> : never) : never,
  ): Promise<ProcessedSprite | ProcessedSheet> {
    const id = this.nextId++;
    let worker = 0;
    for (let i = 1; i < this.workers.length; i++)
      if ((this.load[i] as number) < (this.load[worker] as number)) worker = i;
    this.load[worker] = (this.load[worker] as number) + 1;
    this.workers[worker]?.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, worker });
      const req = { ...job, id } as PoolRequest;
      this.workers[worker]?.postMessage(req, [req.input.buffer as ArrayBuffer]);
    });
  }

  private settle(reply: Reply): void {
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    this.load[p.worker] = (this.load[p.worker] as number) - 1;
    if (this.load[p.worker] === 0) this.workers[p.worker]?.unref();
    if (reply.ok)
      p.resolve({
        ...reply.result,
        png: Buffer.from(
          reply.result.png.buffer,
          reply.result.png.byteOffset,
          reply.result.png.length,
        ),
      });
    else p.reject(new DaemonError(reply.code, reply.message));
  }

  private failWorker(index: number, err: Error): void {
    for (const [id, p] of this.pending) {
      if (p.worker !== index) continue;
      this.pending.delete(id);
      this.load[index] = 0;
      this.workers[index]?.unref();
      p.reject(
        new DaemonError('BAD_IMAGE', `Sprite worker thread failed: ${err.message}`, { cause: err }),
      );
    }
  }
}
