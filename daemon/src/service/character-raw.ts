import { randomUUID } from 'node:crypto';
import { DaemonError } from '../errors.js';
import { POSE_EXTENSION } from '../protocol/pose.js';
import type { CharacterLayout } from '../sprites/index.js';
import type { GenerationBackend, JobOutcome, WorkerJobParams } from './generation-backend.js';

/**
 * The worker half of a character set, shared by generate_character (character.ts)
 * and recipe rebuilds (rebuild-wiring.ts): every (facing, clip) job on the pool with
 * the `pose` extension, laid out as one raw image (rows = generated facings,
 * columns = the clips' frames; sprites/character-sheet.ts reads it).
 */

/** The generation half of a character set: what the worker is asked, once per (facing, clip). */
export interface CharacterGeneration {
  base: Omit<WorkerJobParams, 'pose' | 'animationFrames' | 'tilesetGrid'>;
  layout: CharacterLayout;
}

/**
 * Run every (facing, clip) job of a set on the pool and lay the raw outputs out as
 * one image (rows = generated facings, columns = the clips' frames). Fails at once
 * with EXTENSION_UNSUPPORTED when no worker advertises `pose`. Any job failing fails
 * the set (the others are cancelled).
 */
export async function generateCharacterRaw(
  backend: GenerationBackend,
  gen: CharacterGeneration,
  options: {
    /** The job whose place under max_pending_jobs the set's worker jobs use (the service's). */
    countedAs?: string | undefined;
    signal?: AbortSignal | undefined;
    onProgress?: ((percent: number, message: string) => void) | undefined;
  } = {},
): Promise<Buffer> {
  await requirePose(backend);
  const { base, layout } = gen;
  const [rw, rh] = base.size;
  const abort = new AbortController();
  const stop = () => abort.abort();
  options.signal?.addEventListener('abort', stop, { once: true });
  const percents = new Map<string, number>();
  const total = layout.generated.length * layout.clips.length;
  const report = () => {
    let sum = 0;
    for (const p of percents.values()) sum += p;
    options.onProgress?.(sum / total, `${percents.size}/${total} facing × animation jobs started`);
  };
  try {
    const jobs = layout.generated.flatMap((facing, row) =>
      layout.clips.map(async (clip) => {
        const jobId = randomUUID();
        const handle = backend.submit(
          {
            ...base,
            ...(clip.frames > 1 ? { animationFrames: clip.frames } : {}),
            pose: { facing, animation: clip.animation },
          },
          {
            jobId,
            ...(options.countedAs === undefined ? {} : { countedAs: options.countedAs }),
            signal: abort.signal,
            onProgress: (u) => {
              percents.set(jobId, Math.min(100, Math.max(0, u.percent)));
              report();
            },
          },
        );
        const outcome: JobOutcome = await handle.done;
        const what = `facing ${facing}, ${clip.name === '' ? 'still frame' : `animation ${clip.name}`}`;
        if (outcome.status === 'cancelled')
          throw new DaemonError('JOB_CANCELLED', `the ${what} job was cancelled`);
        if (outcome.status === 'failed')
          throw new DaemonError(outcome.code, `the ${what} job failed: ${outcome.error}`);
        percents.set(jobId, 100);
        report();
        return {
          png: outcome.image,
          left: clip.column * rw,
          top: row * rh,
          what,
          frames: clip.frames,
        };
      }),
    );
    const strips = await Promise.all(
      jobs.map((j) =>
        j.catch((err: unknown) => {
          abort.abort();
          throw err;
        }),
      ),
    );
    const { default: sharp } = await import('sharp');
    for (const s of strips) {
      const meta = await sharp(s.png).metadata();
      if (meta.width !== s.frames * rw || meta.height !== rh) {
        throw new DaemonError(
          'BAD_IMAGE',
          `the worker's ${s.what} image is ${meta.width}×${meta.height}, expected ${s.frames * rw}×${rh} (${s.frames} frame(s) of ${rw}×${rh}); check the worker honours animation_frames and size`,
        );
      }
    }
    return await sharp({
      create: {
        width: layout.columns * rw,
        height: layout.generated.length * rh,
        channels: 3,
        background: '#000000',
      },
    })
      .composite(strips.map((s) => ({ input: s.png, left: s.left, top: s.top })))
      .png({ compressionLevel: 3 })
      .toBuffer();
  } finally {
    options.signal?.removeEventListener('abort', stop);
  }
}

/** Throws EXTENSION_UNSUPPORTED naming every worker when none advertises `pose`. */
export async function requirePose(backend: GenerationBackend): Promise<void> {
  const caps = await backend.capabilities();
  if (caps.some((c) => c.extensions?.includes(POSE_EXTENSION))) return;
  const { missingExtension } = await import('../worker-client/pool-job.js');
  throw new DaemonError('EXTENSION_UNSUPPORTED', missingExtension(POSE_EXTENSION, caps));
}
