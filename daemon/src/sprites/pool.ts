import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { DaemonError, type DaemonErrorCode, errorMessage } from '../errors.js';
import type {
  CharacterLayout,
  CharacterSheetOptions,
  ProcessedCharacterSheet,
} from './character-sheet.js';
import type { PoolRequest } from './pool-worker.js';
import type { ProcessedSheet, SheetLayout, SheetOptions } from './process-sheet.js';
import type { ProcessedSprite } from './process-sprite.js';
import type { SpriteProcessor } from './processor.js';
import type { SpriteOptions } from './settings.js';

type Processed = ProcessedSprite | ProcessedSheet | ProcessedCharacterSheet;

type Reply =
  | { id: number; ok: true; result: Processed & { png: Uint8Array } }
  | { id: number; ok: false; code: DaemonErrorCode; message: string };

type Job = PoolRequest extends infer R ? (R extends PoolRequest ? Omit<R, 'id'> : never) : never;

interface Queued {
  id: number;
  job: Job;
  resolve: (r: Processed) => void;
  reject: (e: Error) => void;
}

interface Thread {
  worker: Worker;
  /** The jobs it holds (at most JOBS_PER_THREAD). */
  jobs: Queued[];
}

/**
 * Jobs a thread holds at once: two, so one sprite's decode (sharp, off the thread)
 * overlaps the other's JavaScript stages. More only adds 4 MB decoded inputs to a
 * cache that two already fill (8 sprites on 2 threads, speed-up over one at a time,
 * 25-round medians averaged over 2–3 runs: 1.57× at one job a thread, 1.66× at two,
 * 1.63× at three).
 */
const JOBS_PER_THREAD = 2;

/**
 * Worker threads running the pipeline, for the service and for callers with many
 * sprites at once (batches, sheets, rebuilds): grid detection and downscale are
 * JavaScript and would otherwise share one core, and the main thread stays free
 * for the MCP connection. Same results as `processSprite` / `processSheet` /
 * `processCharacterSheet` in-thread.
 *
 * Each thread holds at most two jobs (JOBS_PER_THREAD) and the rest wait in one
 * FIFO queue: a decoded 1024² input is 4 MB, and two of them already fill this
 * machine's 8 MB L3 — handing every job out at once made eight sprites thrash the
 * cache (1.20–1.57× for 8 sprites on 2 threads; 1.60–1.73× now). Threads
 * start on first use (the daemon's cold start does not pay for them); a thread
 * that dies fails only its own jobs and is replaced. Default size: min(4, cores).
 * `close()` when done; idle threads do not keep the process alive.
 */
export class SpritePool implements SpriteProcessor {
  private readonly threads: (Thread | undefined)[];
  private readonly queue: Queued[] = [];
  private nextId = 1;
  private closed = false;

  constructor(options: { threads?: number | undefined } = {}) {
    const n = Math.max(1, options.threads ?? Math.min(4, availableParallelism()));
    this.threads = Array.from({ length: n }, () => undefined);
  }

  /** `processSprite` on the next free thread. */
  processSprite(input: Buffer | Uint8Array, options: SpriteOptions = {}): Promise<ProcessedSprite> {
    return this.run({
      kind: 'sprite',
      input: Uint8Array.from(input),
      options,
    }) as Promise<ProcessedSprite>;
  }

  /** `processSheet` on the next free thread. */
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

  /** `processCharacterSheet` on the next free thread. */
  processCharacterSheet(
    input: Buffer | Uint8Array,
    layout: CharacterLayout,
    options: CharacterSheetOptions = {},
  ): Promise<ProcessedCharacterSheet> {
    return this.run({
      kind: 'character',
      input: Uint8Array.from(input),
      layout,
      options,
    }) as Promise<ProcessedCharacterSheet>;
  }

  /**
   * Starts the next thread not started yet, if any, without a job: its module graph
   * and sharp load while the caller's job is still generating. In a fresh daemon the
   * first sprite took ~415 ms on the pool against ~80 ms in-thread, ~335 ms of it
   * thread start-up.
   */
  warm(): void {
    if (this.closed) return;
    const free = this.threads.indexOf(undefined);
    if (free >= 0) this.start(free);
  }

  /** Threads started so far (they start on first use or on warm()). */
  get started(): number {
    return this.threads.filter((t) => t !== undefined).length;
  }

  /** Stops the threads; running and queued jobs are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    const running = this.threads.flatMap((t) => t?.jobs ?? []);
    const threads = this.threads.flatMap((t) => (t ? [t.worker] : []));
    this.threads.fill(undefined);
    await Promise.all(threads.map((w) => w.terminate()));
    for (const q of [...running, ...this.queue.splice(0)])
      q.reject(new DaemonError('JOB_CANCELLED', 'Sprite pool closed before the job finished.'));
  }

  private run(job: Job): Promise<Processed> {
    if (this.closed)
      return Promise.reject(
        new DaemonError('JOB_CANCELLED', 'Sprite pool is closed; create a new SpritePool.'),
      );
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, job, resolve, reject });
      this.dispatch();
    });
  }

  /**
   * Hands queued jobs to threads with room, starting threads as needed: first one
   * job to each thread, then a second, so a few jobs spread over every thread.
   */
  private dispatch(): void {
    for (let held = 0; held < JOBS_PER_THREAD; held++) {
      for (let i = 0; i < this.threads.length && this.queue.length > 0; i++) {
        const thread = this.threads[i] ?? this.start(i);
        if (thread.jobs.length > held) continue;
        const next = this.queue.shift() as Queued;
        const req = { ...next.job, id: next.id } as PoolRequest;
        try {
          thread.worker.postMessage(req, [req.input.buffer as ArrayBuffer]);
        } catch (err) {
          // options that cannot be cloned (a function, a class instance): this job only
          next.reject(
            new DaemonError(
              'VALIDATION',
              `Sprite options cannot be sent to a post-processing thread (${errorMessage(err)}); pass plain data: strings, numbers, arrays, objects.`,
              { cause: err },
            ),
          );
          continue;
        }
        thread.jobs.push(next);
        thread.worker.ref(); // a busy thread keeps the process alive until its jobs settle
      }
    }
  }

  private start(index: number): Thread {
    // Under tsx (tests, benches) this module is TypeScript: start the worker the same way.
    const fromSource = import.meta.url.endsWith('.ts');
    const url = new URL(fromSource ? './pool-worker.ts' : './pool-worker.js', import.meta.url);
    // tsx's loader must be registered inside the thread before the .ts module loads.
    const worker = fromSource
      ? new Worker(
          `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`,
          { eval: true },
        )
      : new Worker(url);
    const thread: Thread = { worker, jobs: [] };
    worker.on('message', (reply: Reply) => this.settle(thread, reply));
    worker.on('error', (err) => this.fail(index, thread, err));
    worker.on('exit', (code) =>
      this.fail(index, thread, new Error(`the thread exited with code ${code}`)),
    );
    worker.unref();
    this.threads[index] = thread;
    return thread;
  }

  private settle(thread: Thread, reply: Reply): void {
    const k = thread.jobs.findIndex((j) => j.id === reply.id);
    if (k < 0) return;
    const job = thread.jobs.splice(k, 1)[0] as Queued;
    if (thread.jobs.length === 0) thread.worker.unref();
    if (reply.ok) {
      const { png } = reply.result;
      job.resolve({ ...reply.result, png: Buffer.from(png.buffer, png.byteOffset, png.length) });
    } else job.reject(new DaemonError(reply.code, reply.message));
    this.dispatch();
  }

  /** A dead thread fails its own jobs only; the next dispatch starts a fresh one in its place. */
  private fail(index: number, thread: Thread, err: Error): void {
    if (this.threads[index] !== thread) return; // already replaced, or closed
    this.threads[index] = undefined;
    void thread.worker.terminate();
    for (const job of thread.jobs.splice(0))
      job.reject(
        new DaemonError('BAD_IMAGE', `Sprite worker thread failed: ${err.message}`, {
          cause: err,
        }),
      );
    this.dispatch();
  }
}
