/**
 * Makes docs/character-sheet.png, the README's example character set: the embedded
 * worker's procedural engine draws every (facing, clip) exactly as generate_character
 * asks it (extension `pose`), the raw outputs are laid out as one raw image and
 * post-processed by processCharacterSheet. Shown 4× with a checkerboard under the
 * transparent pixels and a line between frames. Run: `npm run docs:character`.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import sharp from 'sharp';
import {
  encodeLikeModel,
  renderProcedural,
} from '../../daemon/src/embedded-worker/engines/procedural/index.js';
import { characterLayout, processCharacterSheet } from '../../daemon/src/sprites/index.js';

const OUT = resolve(import.meta.dirname, '../../docs/character-sheet.png');
const RES = 256;
const SCALE = 4;

const layout = characterLayout(4, [{ name: 'walk', frames: 4 }]);
const strips = layout.generated.flatMap((facing, row) =>
  layout.clips.map((clip) => ({ facing, row, clip })),
);
const parts = await Promise.all(
  strips.map(async ({ facing, row, clip }) => ({
    input: await encodeLikeModel(
      renderProcedural({
        prompt: 'pixel_art style: red knight',
        seed: 11,
        style: 'pixel_art',
        width: RES,
        height: RES,
        ...(clip.frames > 1 ? { frames: clip.frames } : {}),
        pose: { facing, animation: clip.animation },
      }).image,
    ),
    left: clip.column * RES,
    top: row * RES,
  })),
);
const raw = await sharp({
  create: {
    width: layout.columns * RES,
    height: layout.generated.length * RES,
    channels: 3,
    background: '#000000',
  },
})
  .composite(parts)
  .png()
  .toBuffer();
const sheet = await processCharacterSheet(raw, layout, {
  style: 'pixel_art',
  name: 'hero',
  frameSize: [32, 32],
  logicalSize: [32, 32],
});
const { frameWidth: fw, frameHeight: fh, columns, rows } = sheet.grid;
const W = sheet.width * SCALE;
const H = sheet.height * SCALE;
const checker = Buffer.alloc(W * H * 3);
for (let y = 0; y < H; y++)
  for (let x = 0; x < W; x++) {
    const light = (Math.floor(x / 8) + Math.floor(y / 8)) % 2 === 0;
    const grid = x % (fw * SCALE) === 0 || y % (fh * SCALE) === 0;
    checker.fill(grid ? 150 : light ? 236 : 220, (y * W + x) * 3, (y * W + x) * 3 + 3);
  }
const big = await sharp(sheet.png).resize(W, H, { kernel: 'nearest' }).png().toBuffer();
await mkdir(dirname(OUT), { recursive: true });
await sharp(checker, { raw: { width: W, height: H, channels: 3 } })
  .composite([{ input: big }])
  .png({ compressionLevel: 9 })
  .toFile(OUT);
process.stderr.write(
  `wrote ${OUT}: ${columns}×${rows} frames of ${fw}×${fh}, tags ${Object.keys(sheet.tags).join(', ')}, ${sheet.palette.length} colours, anchor (${sheet.anchor.x}, ${sheet.anchor.y})\n`,
);
