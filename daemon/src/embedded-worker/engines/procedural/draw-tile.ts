import type { MaterialCanvas } from './canvas.js';
import type { Rgb } from './colour.js';
import type { Rng } from './rng.js';
import { type StyleSpec, styleRamp } from './styles.js';
import type { Subject } from './subject.js';

const TERRAIN: Record<string, Rgb> = {
  grass: [70, 160, 60],
  stone: [130, 130, 140],
  cobblestone: [125, 125, 135],
  wall: [140, 120, 110],
  brick: [170, 80, 60],
  bricks: [170, 80, 60],
  water: [50, 110, 210],
  dirt: [140, 95, 55],
  ground: [140, 95, 55],
  sand: [225, 200, 130],
  lava: [235, 90, 20],
  wood: [150, 100, 55],
  wooden: [150, 100, 55],
  floor: [150, 100, 55],
  platform: [150, 100, 55],
  ice: [170, 215, 240],
  snow: [235, 240, 250],
};

/**
 * A square terrain tile filling the canvas. Tiles of one set share palette and
 * border: the border ring comes from `edgeRng` (same for every tile of the set)
 * and left = right, top = bottom, so the tiles repeat and mix seamlessly.
 */
export function drawTile(
  c: MaterialCanvas,
  rng: Rng,
  edgeRng: Rng,
  spec: StyleSpec,
  subject: Subject,
  frame: number,
): void {
  const n = c.size;
  const type = subject.subtype in TERRAIN ? subject.subtype : 'grass';
  const ramp = styleRamp(
    { ...spec, rampLevels: Math.max(3, spec.rampLevels) },
    subject.colours[0] ?? (TERRAIN[type] as Rgb),
  );
  const shades = ramp.map((base) => c.add({ base, flat: true }));
  const dark = shades[0] as number;
  const mid = shades[1] as number;
  const light = shades[shades.length - 1] as number;
  c.rect(0, 0, n, n, mid);

  if (type === 'brick' || type === 'bricks' || type === 'wall') {
    const rowH = Math.max(3, Math.round(n / 4));
    for (let y = 0; y < n; y += rowH) {
      c.rect(0, y, n, 1, dark);
      const offset = (y / rowH) % 2 === 0 ? 0 : Math.round(n / 4);
      for (let x = offset; x < n; x += Math.round(n / 2)) c.rect(x, y, 1, rowH, dark);
      c.rect(offset + 2, y + 1, Math.round(n / 6), 1, light);
    }
  } else if (type === 'water' || type === 'lava') {
    for (let y = 2; y < n; y += Math.max(3, Math.round(n / 5))) {
      const phase = rng.int(n) + frame * 2;
      for (let x = 0; x < n; x++)
        if ((x + phase) % 8 < 3) c.set(x, y + ((x + phase) % 8 === 1 ? -1 : 0), light);
    }
  } else if (type === 'wood' || type === 'wooden' || type === 'floor' || type === 'platform') {
    for (let x = 0; x < n; x += Math.max(3, Math.round(n / 4))) c.rect(x, 0, 1, n, dark);
    for (let i = 0; i < n / 2; i++) c.set(rng.int(n), rng.int(n), rng.chance(0.5) ? dark : light);
  } else if (type === 'stone' || type === 'cobblestone') {
    const seeds = Array.from({ length: 6 }, () => [rng.int(n), rng.int(n)] as const);
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        const d = seeds
          .map(([sx, sy]) => Math.hypot(wrap(x - sx, n), wrap(y - sy, n)))
          .sort((a, b) => a - b);
        if ((d[1] as number) - (d[0] as number) < 1) c.set(x, y, dark);
        else if ((d[0] as number) < 1.5) c.set(x, y, light);
      }
    }
  } else {
    // grass, dirt, sand, snow, ice: speckles and blades
    for (let i = 0; i < n * 1.5; i++) {
      const x = rng.int(n);
      const y = rng.int(n);
      c.set(x, y, rng.chance(0.6) ? dark : light);
      if (type === 'grass' && rng.chance(0.5)) c.set(x, y - 1, dark);
    }
  }

  // shared border: the same sequence for every tile of the set, mirrored on opposite edges
  // palindromic, so corners agree whichever edge wrote them last
  const half = Array.from({ length: Math.ceil(n / 2) }, () => (edgeRng.chance(0.55) ? dark : mid));
  const border = Array.from({ length: n }, (_, k) => half[Math.min(k, n - 1 - k)] as number);
  for (let k = 0; k < n; k++) {
    const m = border[k] as number;
    c.set(k, 0, m);
    c.set(k, n - 1, m);
    c.set(0, k, m);
    c.set(n - 1, k, m);
  }
}

function wrap(d: number, n: number): number {
  const a = Math.abs(d);
  return Math.min(a, n - a);
}
