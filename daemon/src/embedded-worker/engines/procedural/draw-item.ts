import type { MaterialCanvas } from './canvas.js';
import { hslToRgb, type Rgb } from './colour.js';
import type { Rng } from './rng.js';
import type { Subject } from './subject.js';

const METAL: Rgb = [190, 195, 210];
const GOLD: Rgb = [230, 180, 40];
const WOOD: Rgb = [140, 90, 45];

/** Items and pickups: drawn upright and centred, bobbing one pixel on odd frames. */
export function drawItem(c: MaterialCanvas, rng: Rng, subject: Subject, frame: number): void {
  const n = c.size;
  const cx = n / 2;
  const b = frame % 2;
  const accent = subject.colours[0] ?? hslToRgb(rng.range(0, 360), 0.7, 0.5);
  const shine = c.add({ base: [255, 255, 250], flat: true });
  const type = subject.subtype;
  switch (type) {
    case 'sword':
    case 'dagger':
    case 'weapon': {
      const blade = c.add({ base: subject.colours[0] ?? METAL });
      const guard = c.add({ base: GOLD });
      const grip = c.add({ base: WOOD });
      const w = Math.max(1, Math.round(n * 0.08));
      const tip = Math.round(n * 0.1) + b;
      const guardY = Math.round(n * 0.66) + b;
      c.rect(cx - w, tip + 1, w, guardY - tip - 1, blade);
      c.set(cx - 1, tip, blade);
      c.rect(cx - n * 0.2, guardY, n * 0.2, Math.max(1, n * 0.05), guard);
      c.rect(
        cx - Math.max(1, w / 2),
        guardY + Math.max(1, n * 0.05),
        Math.max(1, w / 2),
        n * 0.16,
        grip,
      );
      c.ellipse(cx, n * 0.9 + b, Math.max(1, n * 0.05), Math.max(1, n * 0.05), guard);
      c.mirror();
      c.set(cx - w + 1, tip + 3, shine);
      return;
    }
    case 'potion':
    case 'flask':
    case 'bottle': {
      const glass = c.add({ base: [200, 225, 240] });
      const liquid = c.add({ base: accent });
      const cork = c.add({ base: WOOD });
      const r = n * 0.3;
      const cy = n * 0.62 + b;
      c.ellipse(cx, cy, r, r, glass);
      c.ellipse(cx, cy + r * 0.15, r * 0.85, r * 0.8, liquid);
      c.rect(cx - r, cy - r * 0.15, r * 2, 1, glass);
      c.rect(cx - n * 0.08, cy - r - n * 0.14, n * 0.16, n * 0.16, glass);
      c.rect(cx - n * 0.1, cy - r - n * 0.22, n * 0.2, n * 0.09, cork);
      c.mirror();
      c.set(cx - r * 0.5, cy - r * 0.4, shine);
      return;
    }
    case 'coin':
    case 'gold':
    case 'treasure': {
      const face = c.add({ base: subject.colours[0] ?? GOLD });
      const rim = c.add({ base: mixDark(subject.colours[0] ?? GOLD) });
      const r = n * 0.36;
      c.ellipse(cx, n / 2 + b, r, r, rim);
      c.ellipse(cx, n / 2 + b, r * 0.75, r * 0.75, face);
      c.rect(cx - 1, n / 2 - r * 0.4 + b, 2, r * 0.8, rim);
      c.set(cx - r * 0.5, n / 2 - r * 0.5 + b, shine);
      return;
    }
    case 'shield': {
      const face = c.add({ base: accent });
      const rim = c.add({ base: METAL });
      const emblem = c.add({ base: GOLD });
      const top = n * 0.14 + b;
      const h = n * 0.72;
      for (let y = 0; y < h; y++) {
        const t = y / h;
        const w = t < 0.55 ? n * 0.36 : n * 0.36 * (1 - (t - 0.55) / 0.45);
        c.rect(cx - w, top + y, w, 1, rim);
        c.rect(cx - w + 1, top + y, Math.max(0, w - 1), 1, face);
      }
      c.rect(cx - 1, top + h * 0.2, 1, h * 0.45, emblem);
      c.rect(cx - n * 0.15, top + h * 0.35, n * 0.15, 1, emblem);
      c.mirror();
      return;
    }
    case 'heart': {
      const red = c.add({ base: subject.colours[0] ?? [220, 40, 60] });
      const r = n * 0.2;
      const cy = n * 0.38 + b;
      c.ellipse(cx - r * 0.9, cy, r, r, red);
      for (let y = 0; y < n * 0.42; y++)
        c.rect(cx - r * 1.9 * (1 - y / (n * 0.42)), cy + y, r * 1.9 * (1 - y / (n * 0.42)), 1, red);
      c.mirror();
      c.set(cx - r * 1.3, cy - r * 0.4, shine);
      return;
    }
    case 'chest': {
      const wood = c.add({ base: subject.colours[0] ?? WOOD });
      const band = c.add({ base: GOLD });
      const top = n * 0.28 + b;
      c.rect(cx - n * 0.38, top, n * 0.38, n * 0.5, wood);
      c.rect(cx - n * 0.38, top + n * 0.18, n * 0.38, 1, band);
      c.rect(cx - n * 0.3, top, 1, n * 0.5, band);
      c.mirror();
      c.rect(cx - 1, top + n * 0.16, 2, 3, band);
      return;
    }
    case 'key': {
      const metal = c.add({ base: subject.colours[0] ?? GOLD });
      c.ellipse(cx, n * 0.25 + b, n * 0.16, n * 0.16, metal);
      c.rect(cx - 1, n * 0.3 + b, 2, n * 0.6, metal);
      c.mirror();
      c.clear(cx, n * 0.25 + b);
      c.clear(cx - 1, n * 0.25 + b);
      c.rect(cx + 1, n * 0.72 + b, n * 0.14, 2, metal);
      c.rect(cx + 1, n * 0.82 + b, n * 0.1, 2, metal);
      return;
    }
    case 'staff':
    case 'wand':
    case 'orb': {
      const wood = c.add({ base: WOOD });
      const orb = c.add({ base: accent });
      c.rect(cx - 1, n * 0.32 + b, 1, n * 0.6, wood);
      c.ellipse(cx, n * 0.22 + b, n * 0.15, n * 0.15, orb);
      c.mirror();
      c.set(cx - n * 0.08, n * 0.17 + b, shine);
      return;
    }
    case 'apple': {
      const red = c.add({ base: subject.colours[0] ?? [210, 40, 40] });
      const stem = c.add({ base: WOOD });
      const leaf = c.add({ base: [60, 170, 60] });
      c.ellipse(cx, n * 0.58 + b, n * 0.32, n * 0.3, red);
      c.mirror();
      c.rect(cx - 1, n * 0.2 + b, 1, n * 0.12, stem);
      c.rect(cx, n * 0.2 + b, n * 0.12, 2, leaf);
      c.set(cx - n * 0.16, n * 0.46 + b, shine);
      return;
    }
    default: {
      // gems, crystals, rings, icons: a faceted diamond
      const gem = c.add({ base: subject.colours[0] ?? accent });
      const facet = c.add({ base: mixLight(subject.colours[0] ?? accent) });
      const h = n * 0.74;
      const top = n * 0.13 + b;
      for (let y = 0; y < h; y++) {
        const t = y / h;
        const w = t < 0.35 ? n * 0.38 * (0.5 + t / 0.7) : n * 0.38 * (1 - (t - 0.35) / 0.65);
        c.rect(cx - w, top + y, w, 1, gem);
      }
      c.rect(cx - n * 0.18, top + h * 0.35, n * 0.18, 1, facet);
      c.mirror();
      c.set(cx - n * 0.15, top + h * 0.2, shine);
    }
  }
}

function mixDark(c: Rgb): Rgb {
  return [c[0] * 0.6, c[1] * 0.55, c[2] * 0.5];
}
function mixLight(c: Rgb): Rgb {
  return [c[0] + (255 - c[0]) * 0.45, c[1] + (255 - c[1]) * 0.45, c[2] + (255 - c[2]) * 0.45];
}
