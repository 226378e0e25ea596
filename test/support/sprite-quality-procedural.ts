/**
 * Quality on the embedded worker's procedural engine (daemon/src/embedded-worker/engines/
 * procedural): the pictures the demo and the offline worker really produce. The
 * sprite sits inside a larger canvas, so the output (whole canvas, no trim) is
 * compared to the truth after aligning the sprite's first cell with the detected grid.
 */
import sharp from 'sharp';
import {
  encodeLikeModel,
  renderProcedural,
} from '../../daemon/src/embedded-worker/engines/procedural/compose.js';
import { processSprite } from '../../daemon/src/sprites/index.js';
import { type CaseResult, scoreCase } from './sprite-quality.js';

const PROMPTS = [
  'a knight with a sword',
  'green slime monster',
  'health potion',
  'treasure chest',
  'fire dragon',
  'wizard hat',
  'skeleton warrior',
  'golden key',
];
const STYLES = ['8bit', 'retro', 'pixel_art', '16bit', 'game_sprite'];

export async function runProceduralCorpus(
  count = 20,
  onCase?: (r: CaseResult) => void,
): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (let i = 0; i < count; i++) {
    const prompt = PROMPTS[i % PROMPTS.length] as string;
    const style = STYLES[i % STYLES.length] as string;
    const pic = renderProcedural({ prompt, seed: 1000 + i, style, width: 1024, height: 1024 });
    const input = await encodeLikeModel(pic.image, 90);
    const t0 = performance.now();
    const out = await processSprite(input);
    const ms = performance.now() - t0;
    const { data, info } = await sharp(out.png)
      .ensureAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    // Where the truth's cell (0, 0) lands in the output grid.
    const [px, py] = out.detected.cellSize;
    const startOf = (phase: number, p: number) => (phase >= p / 2 ? phase - p : phase);
    const ox = Math.round((pic.truth.offset[0] - startOf(out.detected.phase[0], px)) / px);
    const oy = Math.round((pic.truth.offset[1] - startOf(out.detected.phase[1], py)) / py);
    const tw = pic.logical.width;
    const th = pic.logical.height;
    const crop = new Uint8Array(tw * th * 4);
    for (let y = 0; y < th; y++) {
      for (let x = 0; x < tw; x++) {
        const sx = x + ox;
        const sy = y + oy;
        if (sx < 0 || sy < 0 || sx >= info.width || sy >= info.height) continue;
        crop.set(
          data.subarray((sy * info.width + sx) * 4, (sy * info.width + sx) * 4 + 4),
          (y * tw + x) * 4,
        );
      }
    }
    const truth = { width: tw, height: th, data: pic.logical.rgba };
    const score = scoreCase({ width: tw, height: th, data: crop }, truth);
    const r: CaseResult = {
      id: `p${String(i).padStart(2, '0')}-${style}-${prompt.replaceAll(' ', '_').slice(0, 18)}`,
      tier: 'procedural',
      truthSize: [tw, th],
      outSize: [out.width, out.height],
      cellSize: out.detected.cellSize,
      confidence: out.detected.confidence,
      ms,
      ...score,
      // Exact when the cell size is right to 0.5 % (then the whole-canvas grid is right).
      dimsExact:
        Math.abs(px - pic.truth.scale) / pic.truth.scale < 0.005 &&
        Math.abs(py - pic.truth.scale) / pic.truth.scale < 0.005,
    };
    results.push(r);
    onCase?.(r);
  }
  return results;
}
