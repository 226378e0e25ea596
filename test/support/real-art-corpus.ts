/**
 * The real-art quality corpus: released game sprites (test/sprites/real-art, see
 * SOURCES.md there) rendered the way SDXL pixel-art output looks — non-integer
 * cells of 8–26 px, sub-pixel offset, slow drift, per-cell colour jitter, blur,
 * noise and a noisy opaque background — once as lossless PNG and once as JPEG
 * (q80–90). Ground truth = the sprite with a transparent margin of 1–4 px.
 * `dev` games tune the pipeline; `test` games are only measured.
 */
import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import sharp from 'sharp';
import type { SpriteOptions } from '../../daemon/src/sprites/index.js';
import { type CorpusCase, renderCase } from './pixel-art-corpus.js';
import type { LogicalSprite } from './pixel-art-sprite.js';
import { prng } from './prng.js';
import type { CaseResult } from './sprite-quality.js';
import { scoreProcessed } from './sprite-quality-run.js';

export const REAL_ART_DIR = resolve(new URL('.', import.meta.url).pathname, '../sprites/real-art');

const BACKGROUNDS = [
  0xffffff, 0xf4f1ea, 0xd8d8d8, 0x202020, 0x101828, 0x7fb3d5, 0xff00ff, 0x3a7d44, 0x8a8a8a,
];

export type Split = 'dev' | 'test';

export interface RealCase extends CorpusCase {
  split: Split;
  game: string;
  encoding: 'jpeg' | 'png';
  /** File format handed to the pipeline (a JPEG may be re-saved as PNG). */
  container: 'jpeg' | 'png';
}

interface Sprite {
  width: number;
  height: number;
  data: Buffer;
}

async function loadSprite(path: string): Promise<Sprite> {
  const { data, info } = await sharp(path)
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data };
}

/** Copies the opaque pixels of `s` into `dst` at (left, top). */
function place(dst: LogicalSprite, s: Sprite, left: number, top: number): void {
  for (let y = 0; y < s.height; y++)
    for (let x = 0; x < s.width; x++) {
      const i = (y * s.width + x) * 4;
      if ((s.data[i + 3] as number) < 128) continue;
      dst.data.set(
        [s.data[i] as number, s.data[i + 1] as number, s.data[i + 2] as number, 255],
        ((top + y) * dst.width + left + x) * 4,
      );
    }
}

/** Every sprite of `splits`, each as two lossless and two JPEG cases (deterministic for `seed`). */
export async function makeRealCorpus(
  splits: Split[] = ['dev', 'test'],
  seed = 20260214,
): Promise<RealCase[]> {
  const cases: RealCase[] = [];
  let k = 0;
  for (const split of splits) {
    for (const game of readdirSync(resolve(REAL_ART_DIR, split)).sort()) {
      const dir = resolve(REAL_ART_DIR, split, game);
      const files = readdirSync(dir)
        .filter((f) => f.endsWith('.png'))
        .sort();
      const sprites = await Promise.all(files.map((f) => loadSprite(resolve(dir, f))));
      for (let fi = 0; fi < files.length; fi++) {
        const file = files[fi] as string;
        const sprite = sprites[fi] as Sprite;
        const other = sprites[(fi + 1) % sprites.length] as Sprite;
        for (const encoding of ['png', 'jpeg', 'png', 'jpeg'] as const) {
          const caseSeed = seed + 7919 * k++;
          const rand = prng(caseSeed);
          // A 1024-px picture of L logical px (cells of 1024/L = 8–25.6 px) holding the
          // sprite, and half the time a second sprite of the same game beside it, on a
          // noisy opaque background that fills the rest of the canvas.
          const pair = rand() < 0.5;
          const needW = sprite.width + (pair ? other.width + 3 : 0) + 4;
          const needH = Math.max(sprite.height, pair ? other.height : 0) + 4;
          const minL = Math.max(40, needW, needH);
          const L = Math.min(128, minL + Math.floor(rand() * Math.max(1, 129 - minL)));
          const Lh = Math.max(needH, Math.round(L * (rand() < 0.3 ? 0.75 + rand() * 0.25 : 1)));
          const truth: LogicalSprite = { width: L, height: Lh, data: new Uint8Array(L * Lh * 4) };
          const x0 = 2 + Math.floor(rand() * (L - needW + 1));
          place(truth, sprite, x0, 2 + Math.floor(rand() * (Lh - sprite.height - 3)));
          if (pair)
            place(
              truth,
              other,
              x0 + sprite.width + 3,
              2 + Math.floor(rand() * (Lh - other.height - 3)),
            );
          const cell = 1024 / L;
          const aniso = rand() < 0.25 ? 1 + (rand() - 0.5) * 0.02 : 1;
          // Half the JPEG cases come as a PNG holding decoded JPEG pixels (what a
          // pipeline that re-saves model output delivers): the block grid stays, the
          // file no longer says "jpeg".
          const container = encoding === 'jpeg' && rand() < 0.5 ? 'png' : encoding;
          cases.push({
            id: `${split}/${game}/${file.slice(0, -4)}${k % 4 >= 2 ? 'b' : ''}.${encoding === 'jpeg' && container === 'png' ? 'jpeg.png' : encoding}`,
            container,
            tier: 'hard', // the synthetic tier field; reports use `encoding`
            split,
            game,
            encoding,
            seed: caseSeed,
            paletteName: game,
            truth,
            degradation: {
              scale: [cell, cell * aniso],
              phase: [rand() - 0.5, rand() - 0.5],
              drift: rand() < 0.4 ? 0.3 + rand() * 1.2 : 0,
              blurSigma: 0.4 + rand() * 0.8,
              noiseSigma: 2 + rand() * 5,
              blockTint: 1 + rand() * 3,
              shading: rand() * 3,
              jpegQuality: encoding === 'jpeg' ? 80 + Math.floor(rand() * 11) : null,
              background: BACKGROUNDS[Math.floor(rand() * BACKGROUNDS.length)] as number,
            },
          });
        }
      }
    }
  }
  return cases;
}

/** Runs the real-art corpus through `processSprite` (no size hint) and scores every case. */
export async function runRealCorpus(
  splits: Split[] = ['dev', 'test'],
  options: SpriteOptions = {},
  onCase?: (r: CaseResult) => void,
): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const c of await makeRealCorpus(splits)) {
    let input = await renderCase(c);
    if (c.encoding === 'jpeg' && c.container === 'png')
      input = await sharp(input).png({ compressionLevel: 1 }).toBuffer();
    const r = await scoreProcessed(input, c, c.encoding, options);
    results.push(r);
    onCase?.(r);
  }
  return results;
}
