import { decodeImage, encodePng } from './decode.js';
import {
  buildPalette,
  type Detected,
  finishFrame,
  frameToCanvas,
  prepareFrame,
  type Timings,
  timed,
  usedPalette,
} from './pipeline.js';
import { type EffectiveSettings, PIPELINE_VERSION, type SpriteOptions } from './settings.js';
import { resolveSpriteOptions } from './styles.js';

/** One finished sprite. */
export interface ProcessedSprite {
  png: Buffer;
  width: number;
  height: number;
  detected: Detected;
  paletteSize: number;
  /** Colours in the output, most used first. */
  palette: string[];
  settings: EffectiveSettings;
  pipelineVersion: string;
  timingsMs?: Timings;
}

/**
 * The one entry point from raw model output (or any image) to a game sprite:
 * decode → grid detection → majority downscale → background removal → palette →
 * cleanup/outline → trim/canvas → PNG. `options.style` picks the preset from
 * config/styles.yaml; every other option overrides it.
 * @throws DaemonError('BAD_IMAGE') for unreadable, truncated or oversized input;
 *         DaemonError('VALIDATION') for bad options (unknown style or palette).
 */
export async function processSprite(
  input: Buffer | Uint8Array,
  options: SpriteOptions = {},
): Promise<ProcessedSprite> {
  const settings = resolveSpriteOptions(options.style, options);
  const timings: Timings = {};
  const t0 = performance.now();
  const raw = await decodeImage(input, { maxInputPixels: settings.maxInputPixels });
  timings.decode = performance.now() - t0;
  const { small, detected } = prepareFrame(
    raw,
    settings,
    timings,
    settings.logicalSize,
    raw.format,
  );
  const palette = await buildPalette([small], settings, timings);
  const finished = finishFrame(small, palette, settings, timings);
  const out = timed(timings, 'canvas', () => frameToCanvas(finished, settings, null));
  const t1 = performance.now();
  const png = await encodePng(out);
  timings.encode = performance.now() - t1;
  timings.total = performance.now() - t0;
  const used = usedPalette([out]);
  return {
    png,
    width: out.width,
    height: out.height,
    detected,
    paletteSize: used.length,
    palette: used,
    settings,
    pipelineVersion: PIPELINE_VERSION,
    timingsMs: timings,
  };
}
