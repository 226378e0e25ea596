/**
 * Rebuilds the real-art ground truth in this folder from Debian game-data packages
 * (run as root on Debian bookworm: `tsx test/sprites/real-art/extract.ts`).
 * Downloads the .deb files with `apt-get download` (nothing is installed), unpacks
 * them into a temp dir, cuts single sprites out of the shipped sheets (connected
 * opaque regions, or regions unlike the sheet's key colour), keeps those 24–128 px
 * on their long side (with the margin added by the corpus: 30–136), and writes them as RGBA PNGs with binary alpha. The PNGs are
 * committed (small) so tests never need the network; SOURCES.md names package,
 * version, file and licence of each game. crawl-tiles-data is NOT used: it is the
 * held-out acceptance set.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import sharp from 'sharp';

interface Source {
  game: string;
  pkg: string;
  licence: string;
  /** Sheets inside the package, relative to its root. */
  files: string[];
  /** Most sprites kept from this game, and from one sheet (default 3). */
  max: number;
  perFile?: number;
  /** 'dev' tunes the pipeline; 'test' is only measured. */
  split: 'dev' | 'test';
}

const SOURCES: Source[] = [
  {
    game: 'tecnoballz',
    pkg: 'tecnoballz-data',
    licence: 'GPL-3+',
    files: ['usr/share/games/tecnoballz/lores/all_sprites.png'],
    max: 12,
    perFile: 12,
    split: 'dev',
  },
  {
    game: 'pingus',
    pkg: 'pingus-data',
    licence: 'GPL-3+',
    files: [
      'usr/share/games/pingus/data/images/pingus/player0/bomber.png',
      'usr/share/games/pingus/data/images/pingus/player0/digger.png',
      'usr/share/games/pingus/data/images/pingus/player0/exit.png',
      'usr/share/games/pingus/data/images/pingus/player0/bridger.png',
      'usr/share/games/pingus/data/images/pingus/player0/floater.png',
      'usr/share/games/pingus/data/images/pingus/player0/climber.png',
      'usr/share/games/pingus/data/images/pingus/player0/miner.png',
      'usr/share/games/pingus/data/images/pingus/player0/blocker.png',
      'usr/share/games/pingus/data/images/pingus/player0/basher.png',
      'usr/share/games/pingus/data/images/traps/guillotineidle.png',
      'usr/share/games/pingus/data/images/traps/smasher.png',
    ],
    max: 10,
    split: 'dev',
  },
  {
    game: 'freeciv',
    pkg: 'freeciv-data',
    licence: 'GPL-2+',
    files: ['usr/share/games/freeciv/trident/units.png', 'usr/share/games/freeciv/misc/small.png'],
    max: 10,
    perFile: 8,
    split: 'dev',
  },
  {
    game: 'meritous',
    pkg: 'meritous-data',
    licence: 'GPL-3+',
    files: [
      'usr/share/games/meritous/i/mons5.png',
      'usr/share/games/meritous/i/mons6.png',
      'usr/share/games/meritous/i/mons7.png',
      'usr/share/games/meritous/i/mons8.png',
      'usr/share/games/meritous/i/mons9.png',
      'usr/share/games/meritous/i/mons10.png',
      'usr/share/games/meritous/i/boss3.png',
      'usr/share/games/meritous/i/player.png',
    ],
    max: 12,
    split: 'test',
  },
  {
    game: 'mrrescue',
    pkg: 'mrrescue',
    licence: 'CC-BY-SA-3.0 (art), zlib (code)',
    files: [
      'love/data/magmahulk_jump.png',
      'love/data/gasleak_idle.png',
      'love/data/enemy_thief_run.png',
      'love/data/enemy_normal_run.png',
      'love/data/enemy_jumper_jump.png',
      'love/data/player_running.png',
      'love/data/magmahulk_land.png',
      'love/data/charcoal_idle.png',
      'love/data/charcoal_transform.png',
      'love/data/gasleak_walk.png',
      'love/data/gasghost.png',
      'love/data/enemy_volcano_run.png',
      'love/data/captain_dialog.png',
      'love/data/door.png',
      'love/data/item_tank.png',
    ],
    max: 12,
    split: 'test',
  },
];

interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** Opaque mask: alpha ≥ 128, or (no alpha) anything unlike the top-left key colour. */
function opaqueMask(data: Buffer, w: number, h: number, hasAlpha: boolean): Uint8Array {
  const m = new Uint8Array(w * h);
  const key = data.readUInt32LE(0);
  let transparent = 0;
  for (let i = 0; i < w * h; i++) if ((data[i * 4 + 3] as number) < 128) transparent++;
  const useAlpha = hasAlpha && transparent > 0;
  for (let i = 0; i < w * h; i++) {
    m[i] = useAlpha
      ? (data[i * 4 + 3] as number) >= 128
        ? 1
        : 0
      : data.readUInt32LE(i * 4) !== key
        ? 1
        : 0;
  }
  return m;
}

/** Bounding boxes of 8-connected components, merged when their boxes overlap (detached parts). */
function components(m: Uint8Array, w: number, h: number): Box[] {
  const label = new Int32Array(w * h).fill(-1);
  const boxes: Box[] = [];
  const stack: number[] = [];
  for (let s = 0; s < w * h; s++) {
    if (!m[s] || label[s] !== -1) continue;
    const id = boxes.length;
    const b = { x0: w, y0: h, x1: -1, y1: -1 };
    label[s] = id;
    stack.push(s);
    while (stack.length) {
      const i = stack.pop() as number;
      const x = i % w;
      const y = (i - x) / w;
      b.x0 = Math.min(b.x0, x);
      b.x1 = Math.max(b.x1, x);
      b.y0 = Math.min(b.y0, y);
      b.y1 = Math.max(b.y1, y);
      for (let dy = -1; dy <= 1; dy++)
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          const ny = y + dy;
          if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
          const j = ny * w + nx;
          if (m[j] && label[j] === -1) {
            label[j] = id;
            stack.push(j);
          }
        }
    }
    boxes.push(b);
  }
  // Merge near boxes (detached parts of one sprite) until stable.
  let merged = true;
  while (merged) {
    merged = false;
    for (let i = 0; i < boxes.length && !merged; i++)
      for (let j = i + 1; j < boxes.length && !merged; j++) {
        const a = boxes[i] as Box;
        const c = boxes[j] as Box;
        if (a.x0 <= c.x1 && c.x0 <= a.x1 && a.y0 <= c.y1 && c.y0 <= a.y1) {
          a.x0 = Math.min(a.x0, c.x0);
          a.y0 = Math.min(a.y0, c.y0);
          a.x1 = Math.max(a.x1, c.x1);
          a.y1 = Math.max(a.y1, c.y1);
          boxes.splice(j, 1);
          merged = true;
        }
      }
  }
  return boxes;
}

interface Sprite {
  w: number;
  h: number;
  rgba: Uint8Array;
  colours: number;
}

function cut(data: Buffer, m: Uint8Array, w: number, b: Box): Sprite {
  const sw = b.x1 - b.x0 + 1;
  const sh = b.y1 - b.y0 + 1;
  const rgba = new Uint8Array(sw * sh * 4);
  const cols = new Set<number>();
  for (let y = 0; y < sh; y++)
    for (let x = 0; x < sw; x++) {
      const i = (b.y0 + y) * w + b.x0 + x;
      if (!m[i]) continue;
      const o = (y * sw + x) * 4;
      rgba.set(
        [data[i * 4] as number, data[i * 4 + 1] as number, data[i * 4 + 2] as number, 255],
        o,
      );
      cols.add(data.readUInt32LE(i * 4) & 0xffffff);
    }
  return { w: sw, h: sh, rgba, colours: cols.size };
}

/** True when every 2×2 block is one colour (the sheet is already upscaled: not 1:1 art). */
function doubled(s: Sprite): boolean {
  for (let y = 0; y + 1 < s.h; y += 2)
    for (let x = 0; x + 1 < s.w; x += 2) {
      const p = (y * s.w + x) * 4;
      for (const q of [p + 4, p + s.w * 4, p + s.w * 4 + 4])
        for (let k = 0; k < 4; k++) if (s.rgba[p + k] !== s.rgba[q + k]) return false;
    }
  return true;
}

/** Same size within 3 px: most likely another frame of the same animation. */
function similar(a: Sprite, b: Sprite): boolean {
  return Math.abs(a.w - b.w) <= 3 && Math.abs(a.h - b.h) <= 3 && sameMask(a, b);
}

function sameMask(a: Sprite, b: Sprite): boolean {
  const w = Math.min(a.w, b.w);
  const h = Math.min(a.h, b.h);
  let same = 0;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const pa = (y * a.w + x) * 4;
      const pb = (y * b.w + x) * 4;
      if (a.rgba[pa + 3] === b.rgba[pb + 3]) same++;
    }
  return same / (w * h) > 0.6;
}

const here = new URL('.', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'real-art-'));
const lines: string[] = [
  '# Real-art ground truth',
  '',
  'Sprites cut from released game data shipped by Debian (bookworm), by `extract.ts` in this',
  'folder. Each PNG is one sprite at 1:1 (one texel = one logical pixel), alpha 0/255. They are',
  'redistributed under the licence of their game (below); copyright stays with the artists named',
  "in each package's `/usr/share/doc/<package>/copyright`.",
  '',
  '`dev` games are used to tune the post-processing; `test` games are only measured.',
  'crawl-tiles-data is deliberately not used (held-out acceptance set).',
  '',
  '| game | split | Debian package (version) | licence | sheets | sprites |',
  '|---|---|---|---|---|---|',
];
try {
  for (const src of SOURCES) {
    execFileSync('apt-get', ['download', src.pkg], { cwd: work, stdio: 'ignore' });
    const deb = readdirSync(work).find((f) => f.startsWith(`${src.pkg}_`)) as string;
    const root = join(work, src.pkg);
    execFileSync('dpkg-deb', ['-x', join(work, deb), root]);
    if (src.pkg === 'mrrescue')
      execFileSync('unzip', ['-q', '-o', 'usr/share/games/mrrescue/mrrescue.love', '-d', 'love'], {
        cwd: root,
      });
    const out = resolve(here, src.split, src.game);
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    const kept: Sprite[] = [];
    const names: string[] = [];
    for (const file of src.files) {
      const { data, info } = await sharp(join(root, file))
        .ensureAlpha()
        .raw()
        .toBuffer({ resolveWithObject: true });
      const meta = await sharp(join(root, file)).metadata();
      const m = opaqueMask(data, info.width, info.height, meta.hasAlpha === true);
      const boxes = components(m, info.width, info.height);
      let n = 0;
      for (const b of boxes) {
        const s = cut(data, m, info.width, b);
        const long = Math.max(s.w, s.h);
        let filled = 0;
        for (let i = 0; i < s.w * s.h; i++) filled += s.rgba[i * 4 + 3] ? 1 : 0;
        if (long < 24 || long > 128 || Math.min(s.w, s.h) < 12) continue;
        if (filled / (s.w * s.h) < 0.3 || s.colours < 6 || doubled(s)) continue;
        if (kept.some((k) => similar(k, s))) continue;
        kept.push(s);
        const name = `${basename(file, '.png')}-${n++}.png`;
        names.push(name);
        await sharp(Buffer.from(s.rgba), { raw: { width: s.w, height: s.h, channels: 4 } })
          .png({ compressionLevel: 9 })
          .toFile(join(out, name));
        if (kept.length >= src.max || n >= (src.perFile ?? 3)) break;
      }
      if (kept.length >= src.max) break;
    }
    const version = deb.split('_')[1];
    lines.push(
      `| ${src.game} | ${src.split} | ${src.pkg} (${version}) | ${src.licence} | ${src.files.map((f) => `\`${f}\``).join(', ')} | ${kept.length} |`,
    );
    process.stderr.write(`${src.game}: ${kept.length} sprites (${names.join(', ')})\n`);
  }
  writeFileSync(resolve(here, 'SOURCES.md'), `${lines.join('\n')}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
