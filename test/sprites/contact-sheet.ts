/**
 * The README's contact sheet: raw model output from the embedded worker's
 * procedural engine (the picture a GPU model would hand over: non-integer grid,
 * blur, noise, JPEG, opaque background) beside the sprite the post-processor
 * makes of it, for several subjects, styles and palettes, an animation strip
 * and a tileset. Deterministic (fixed prompts and seeds).
 * Run: npm run contact-sheet  (writes test/sprites/contact-sheet.png)
 */
import { resolve } from 'node:path';
import sharp, { type OverlayOptions } from 'sharp';
import {
  encodeLikeModel,
  renderProcedural,
} from '../../daemon/src/embedded-worker/engines/procedural/compose.js';
import { processSheet, processSprite } from '../../daemon/src/sprites/index.js';

const OUT = resolve(import.meta.dirname, 'contact-sheet.png');
const CELL = 176; // px of each picture on the sheet
const GAP = 12;
const LABEL = 30;

interface Case {
  label: string;
  prompt: string;
  style: string;
  palette?: string;
  size?: [number, number];
  frames?: number;
  grid?: [number, number];
}

const CASES: Case[] = [
  { label: '"knight" · pixel_art · auto', prompt: 'a knight with a sword', style: 'pixel_art' },
  {
    label: '"slime" · 8bit · pico-8',
    prompt: 'green slime monster',
    style: '8bit',
    palette: 'pico-8',
  },
  { label: '"potion" · 16bit · db32', prompt: 'health potion', style: '16bit', palette: 'db32' },
  {
    label: '"chest" · retro · gameboy',
    prompt: 'treasure chest',
    style: 'retro',
    palette: 'gameboy',
  },
  {
    label: '"dragon" · game_sprite · endesga',
    prompt: 'fire dragon',
    style: 'game_sprite',
    palette: 'endesga-32',
  },
  { label: '"skeleton" · 16bit · nes', prompt: 'skeleton warrior', style: '16bit', palette: 'nes' },
  { label: 'walk · 4-frame sheet', prompt: 'a knight walking', style: 'pixel_art', frames: 4 },
  {
    label: 'tiles · 3×2 tileset',
    prompt: 'grass and stone floor tiles',
    style: 'pixel_art',
    grid: [3, 2],
  },
];

/** `png` fitted into w×h: smooth for the raw picture, nearest (crisp pixels) for sprites. */
async function fitInto(png: Buffer, w: number, h: number, crisp: boolean): Promise<Buffer> {
  const meta = await sharp(png).metadata();
  const pw = meta.width ?? 1;
  const ph = meta.height ?? 1;
  const ratio = Math.min(w / pw, h / ph);
  const scale = crisp && ratio >= 1 ? Math.floor(ratio) : ratio; // whole pixels when it fits
  const rw = Math.max(1, Math.round(pw * scale));
  const rh = Math.max(1, Math.round(ph * scale));
  return sharp(png)
    .resize(rw, rh, { kernel: crisp ? 'nearest' : 'lanczos3' })
    .png()
    .toBuffer();
}

/** A light checkerboard w×h: transparency shows as checks. */
function checker(w: number, h: number): Buffer {
  const data = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const v = ((x >> 3) + (y >> 3)) % 2 === 0 ? 236 : 212;
      data.set([v, v, v, 255], (y * w + x) * 4);
    }
  return data;
}

function text(label: string, width: number): Buffer {
  const esc = label.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${LABEL}"><text x="2" y="20" font-family="DejaVu Sans, sans-serif" font-size="14" fill="#222">${esc}</text></svg>`,
  );
}

async function render(c: Case): Promise<{ raw: Buffer; sprite: Buffer; note: string }> {
  const side = c.frames || c.grid ? 512 : 1024;
  const pic = renderProcedural({
    prompt: c.prompt,
    seed: 7,
    style: c.style,
    width: side,
    height: side,
    ...(c.frames ? { frames: c.frames } : {}),
    ...(c.grid ? { grid: c.grid } : {}),
  });
  const raw = await encodeLikeModel(pic.image, 90);
  const options = { style: c.style, ...(c.palette ? { palette: c.palette } : {}) };
  if (c.frames || c.grid) {
    const layout = c.frames ? { frames: c.frames } : { grid: c.grid as [number, number] };
    const r = await processSheet(raw, layout, { ...options, name: 'sheet' });
    return { raw, sprite: r.png, note: `${r.width}×${r.height}, ${r.paletteSize} col.` };
  }
  const r = await processSprite(raw, options);
  return { raw, sprite: r.png, note: `${r.width}×${r.height}, ${r.paletteSize} col.` };
}

const pairW = CELL * 2 + GAP;
const cols = 2;
const rows = Math.ceil(CASES.length / cols);
const width = cols * pairW + (cols + 1) * GAP * 2;
const height = rows * (CELL + LABEL + GAP) + GAP + LABEL;
const layers: OverlayOptions[] = [
  {
    input: text(
      'raw model output (procedural engine, JPEG q90)  →  dgx-pixels post-processing',
      width,
    ),
    left: GAP * 2,
    top: 4,
  },
];
for (const [i, c] of CASES.entries()) {
  const { raw, sprite, note } = await render(c);
  const left = GAP * 2 + (i % cols) * (pairW + GAP * 2);
  const top = LABEL + GAP + Math.floor(i / cols) * (CELL + LABEL + GAP);
  layers.push({ input: text(`${c.label} → ${note}`, pairW), left, top });
  const rawFit = await fitInto(raw, CELL, CELL, false);
  layers.push({ input: rawFit, left, top: top + LABEL });
  layers.push({
    input: checker(CELL, CELL),
    raw: { width: CELL, height: CELL, channels: 4 },
    left: left + CELL + GAP,
    top: top + LABEL,
  });
  const spriteFit = await fitInto(sprite, CELL, CELL, true);
  const m = await sharp(spriteFit).metadata();
  layers.push({
    input: spriteFit,
    left: left + CELL + GAP + Math.floor((CELL - (m.width ?? CELL)) / 2),
    top: top + LABEL + Math.floor((CELL - (m.height ?? CELL)) / 2),
  });
}
await sharp({ create: { width, height, channels: 4, background: '#ffffff' } })
  .composite(layers)
  .png({ palette: true, colours: 256, compressionLevel: 9, effort: 10 })
  .toFile(OUT);
const meta = await sharp(OUT).metadata();
process.stderr.write(`wrote ${OUT} (${meta.width}×${meta.height})\n`);
