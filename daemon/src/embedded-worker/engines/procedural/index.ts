import sharp from 'sharp';
import {
  INIT_IMAGE_EXTENSION,
  MASK_EXTENSION,
  REFERENCE_IMAGES_EXTENSION,
} from '../../../protocol/conditioning.js';
import type { ModelInfo } from '../../../protocol/messages.js';
import { POSE_EXTENSION } from '../../../protocol/pose.js';
import {
  type Engine,
  type EngineContext,
  type EngineJob,
  type EngineResult,
  sleepMs,
  sortModels,
} from '../../engine.js';
import { encodeLikeModel, encodeTruthPng, motionOf, renderProceduralAsync } from './compose.js';
import {
  applyReference,
  conditionedPictureAsync,
  decodeConditioningPng,
  type ReferenceLook,
  type RgbaImage,
  referenceLook,
} from './conditioning.js';
import { choosePlacement } from './render.js';
import { drawSprite } from './sprite.js';
import { STYLE_NAMES } from './styles.js';

export type { Rgb } from './colour.js';
export {
  encodeLikeModel,
  encodeTruthPng,
  type ProceduralPicture,
  type ProceduralRequest,
  renderProcedural,
  renderProceduralAsync,
  type SheetTruth,
} from './compose.js';
export {
  choosePlacement,
  type GroundTruth,
  type RawImage,
  type RenderedSprite,
  type RenderOptions,
  renderLikeModel,
  renderLikeModelSteps,
} from './render.js';
export { type DrawSpriteParams, drawSprite, type LogicalSprite } from './sprite.js';
export { resolveStyle, STYLE_NAMES, type StyleName } from './styles.js';
export type { SpriteKind } from './subject.js';

export interface ProceduralEngineOptions {
  /** Time of one sampling step in ms (0 = as fast as possible; 600 ≈ a real 30-step SDXL run). */
  stepMs: number;
  /** Also write `<image>.truth.png` and `<image>.truth.json` (debug; default false). */
  writeGroundTruth?: boolean;
}

const CHECKPOINT = 'procedural-pixel-v1';

/**
 * The offline engine: no GPU, no network. Progress walks initializing →
 * sampling (one update per step, `stepMs` apart) → decoding, then the sprite is
 * drawn and rendered like model output. The picture depends only on prompt,
 * seed, style (or a `style-*` LoRA), size, animation_frames, tileset_grid, pose
 * and the conditioning images (init_image + strength, mask, the first of
 * reference_images: emulated in conditioning.ts).
 */
export function createProceduralEngine(options: ProceduralEngineOptions): Engine {
  const stepMs = Math.max(0, options.stepMs);
  return {
    name: 'procedural',
    extensions: [POSE_EXTENSION, INIT_IMAGE_EXTENSION, MASK_EXTENSION, REFERENCE_IMAGES_EXTENSION],
    async listModels(): Promise<ModelInfo[]> {
      const models: ModelInfo[] = [
        {
          name: CHECKPOINT,
          path: `builtin:procedural/${CHECKPOINT}`,
          model_type: 'checkpoint',
          size_mb: 0,
        },
        ...STYLE_NAMES.map(
          (s): ModelInfo => ({
            name: `style-${s}`,
            path: `builtin:procedural/style-${s}`,
            model_type: 'lora',
            size_mb: 0,
          }),
        ),
      ];
      return sortModels(models);
    },
    async generate(job: EngineJob, ctx: EngineContext): Promise<EngineResult> {
      const started = performance.now();
      // decoded first: bad bytes fail the job at once, naming the field
      const inputs = await decodeInputs(job);
      const steps = Math.max(1, job.steps);
      const decodeS = 0.15;
      const eta = (done: number): number => ((steps - done) * stepMs) / 1000 + decodeS;
      await ctx.progress({
        stage: 'initializing',
        step: 0,
        totalSteps: steps,
        percent: 0,
        etaS: eta(0) + (2 * stepMs) / 1000,
      });
      await sleepMs(stepMs * 2, ctx.signal);
      for (let step = 1; step <= steps; step++) {
        await sleepMs(stepMs, ctx.signal);
        const percent = 5 + (85 * step) / steps;
        await ctx.progress({
          stage: 'sampling',
          step,
          totalSteps: steps,
          percent,
          etaS: eta(step),
        });
      }
      await ctx.progress({
        stage: 'decoding',
        step: steps,
        totalSteps: steps,
        percent: 92,
        etaS: decodeS,
      });
      const style =
        job.style ?? (job.lora?.startsWith('style-') ? job.lora.slice('style-'.length) : undefined);
      if (inputs.init !== undefined) {
        const png = await conditionedPng(job, style, inputs.init, inputs, ctx.signal);
        if (ctx.signal.aborted) throw ctx.signal.reason;
        return { png, durationS: (performance.now() - started) / 1000 };
      }
      const picture = await renderProceduralAsync(
        {
          prompt: job.prompt,
          seed: job.seed ?? 0,
          ...(style === undefined ? {} : { style }),
          width: job.width,
          height: job.height,
          ...(job.animationFrames !== undefined && job.animationFrames > 1
            ? { frames: job.animationFrames }
            : {}),
          ...(job.tilesetGrid === undefined ? {} : { grid: job.tilesetGrid }),
          ...(job.pose === undefined ? {} : { pose: job.pose }),
          ...(inputs.reference === undefined ? {} : { reference: inputs.reference }),
        },
        ctx.signal,
      );
      const png = await encodeLikeModel(picture.image);
      if (ctx.signal.aborted) throw ctx.signal.reason;
      const result: EngineResult = { png, durationS: (performance.now() - started) / 1000 };
      if (options.writeGroundTruth === true) {
        result.sidecars = [
          { suffix: '.truth.png', data: await encodeTruthPng(picture.logical) },
          {
            suffix: '.truth.json',
            data: Buffer.from(`${JSON.stringify(picture.truth, null, 2)}\n`),
          },
        ];
      }
      return result;
    },
    async close(): Promise<void> {},
  };
}

/** Default img2img strength when init_image comes without one (inpainting: 1). */
export const DEFAULT_STRENGTH = 0.75;

interface DecodedInputs {
  init?: RgbaImage;
  mask?: RgbaImage;
  reference?: ReferenceLook;
}

/** Decode a job's conditioning PNGs; throws an Error naming the field and the fix. */
async function decodeInputs(job: EngineJob): Promise<DecodedInputs> {
  const out: DecodedInputs = {};
  if (job.initImage !== undefined)
    out.init = await decodeConditioningPng(job.initImage, 'init_image');
  if (job.mask !== undefined) out.mask = await decodeConditioningPng(job.mask, 'mask');
  const refs = job.referenceImages ?? [];
  for (const [i, bytes] of refs.entries()) {
    const picture = await decodeConditioningPng(bytes, `reference_images[${i}]`);
    if (i > 0) continue; // the procedural engine follows the first reference; the others are checked only
    const look = referenceLook(picture);
    if (look === undefined) {
      throw new Error(
        'reference_images[0] shows no subject (fully transparent, or one flat colour); send a sprite on a transparent or plain background',
      );
    }
    out.reference = look;
  }
  return out;
}

/** img2img / inpainting of a decoded init picture, as lossless PNG (conditioning.ts). */
async function conditionedPng(
  job: EngineJob,
  style: string | undefined,
  init: RgbaImage,
  inputs: DecodedInputs,
  signal: AbortSignal,
): Promise<Buffer> {
  const seed = job.seed ?? 0;
  let fresh = drawSprite({
    prompt: job.prompt,
    seed,
    ...(style === undefined ? {} : { style }),
    ...(job.pose === undefined
      ? {}
      : { facing: job.pose.facing, motion: motionOf(job.pose.animation) }),
  });
  if (inputs.reference !== undefined)
    fresh = applyReference([fresh], inputs.reference)[0] as typeof fresh;
  const picture = await conditionedPictureAsync(
    {
      init,
      ...(inputs.mask === undefined ? {} : { mask: inputs.mask }),
      strength: job.strength ?? (inputs.mask === undefined ? DEFAULT_STRENGTH : 1),
      width: job.width,
      height: job.height,
      seed,
      prompt: job.prompt,
      fresh,
      background: choosePlacement(fresh, job.width, job.height, seed).background,
    },
    signal,
  );
  const { width, height, channels, data } = picture.image;
  return sharp(data, { raw: { width, height, channels } }).png({ compressionLevel: 3 }).toBuffer();
}
