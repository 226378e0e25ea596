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
import { encodeLikeModel, encodeTruthPng, renderProceduralAsync } from './compose.js';
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
 * seed, style (or a `style-*` LoRA), size, animation_frames and tileset_grid.
 */
export function createProceduralEngine(options: ProceduralEngineOptions): Engine {
  const stepMs = Math.max(0, options.stepMs);
  return {
    name: 'procedural',
    extensions: [POSE_EXTENSION],
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
