import type { MaterialCanvas } from './canvas.js';
import { hslToRgb } from './colour.js';
import type { Rng } from './rng.js';
import type { Subject } from './subject.js';

/** Creatures: slimes squash, ghosts wave, winged things flap, the rest are seeded symmetric blobs. */
export function drawCreature(c: MaterialCanvas, rng: Rng, subject: Subject, frame: number): void {
  const n = c.size;
  const cx = n / 2;
  const type = subject.subtype;
  const hue = rng.range(0, 360);
  const bodyColour =
    subject.colours[0] ??
    (type === 'ghost'
      ? hslToRgb(220, 0.3, 0.85)
      : type === 'slime' || type === 'jelly'
        ? hslToRgb(110 + rng.range(-40, 40), 0.6, 0.5)
        : hslToRgb(hue, 0.5, 0.45));
  const body = c.add({ base: bodyColour });
  const belly = c.add({ base: subject.colours[1] ?? hslToRgb(hue + 40, 0.4, 0.7) });
  const eye = c.add({ base: [20, 18, 30], flat: true });
  const shine = c.add({ base: [250, 250, 245], flat: true });
  const horn = c.add({ base: [235, 225, 200] });
  const beat = frame % 2;

  if (type === 'slime' || type === 'jelly' || type === 'blob') {
    const rx = n * 0.36 + beat;
    const ry = n * 0.28 - beat;
    const bottom = n - 2;
    c.ellipse(cx, bottom - ry, rx, ry, body);
    c.rect(cx - rx + 1, bottom - 2, rx * 2 - 2, 2, body);
    c.set(cx - rx * 0.5, bottom - ry * 1.4, shine);
    c.set(cx - rx * 0.5 + 1, bottom - ry * 1.4, shine);
    eyes(c, cx, bottom - ry, Math.max(1, Math.round(rx * 0.35)), eye, frame);
    return;
  }
  if (type === 'ghost') {
    const r = n * 0.32;
    const cy = n * 0.4 + beat;
    c.ellipse(cx, cy, r, r, body);
    c.rect(cx - r, cy, r * 2, n * 0.3, body);
    const hem = Math.round(cy + n * 0.3);
    for (let x = Math.round(cx - r); x < cx + r; x++)
      if ((x + frame) % 3 === 0) c.clear(x, hem - 1);
    eyes(c, cx, cy, Math.max(1, Math.round(r * 0.35)), eye, frame);
    return;
  }

  // generic beast: seeded symmetric blob grown by a few cellular-automaton passes
  const half = Math.ceil(n / 2);
  const alive = new Uint8Array(n * n);
  const rx = n * 0.34;
  const ry = n * 0.3;
  const cy = n * 0.55;
  for (let y = 1; y < n - 1; y++) {
    for (let x = 1; x < half; x++) {
      const dx = (x + 0.5 - cx) / rx;
      const dy = (y + 0.5 - cy) / ry;
      const d = dx * dx + dy * dy;
      alive[y * n + x] = d < 0.55 || (d < 1.15 && rng.chance(0.55)) ? 1 : 0;
    }
  }
  for (let pass = 0; pass < 2; pass++) {
    const next = alive.slice();
    for (let y = 1; y < n - 1; y++) {
      for (let x = 1; x < half; x++) {
        let count = 0;
        for (let yy = -1; yy <= 1; yy++)
          for (let xx = -1; xx <= 1; xx++) count += alive[(y + yy) * n + x + xx] ?? 0;
        next[y * n + x] = count >= 5 ? 1 : 0;
      }
    }
    alive.set(next);
  }
  for (let y = 0; y < n; y++)
    for (let x = 0; x < half; x++) if (alive[y * n + x]) c.set(x, y - beat, body);
  c.ellipse(cx, cy + ry * 0.35 - beat, rx * 0.45, ry * 0.4, belly);
  const winged = ['dragon', 'bat', 'bird', 'demon'].includes(type);
  if (winged) {
    const lift = beat === 0 ? 0 : 2;
    for (let i = 0; i < Math.round(n * 0.22); i++) {
      c.rect(
        cx - rx - i * 0.6,
        cy - ry * 0.6 - i * 0.5 + lift,
        2,
        Math.max(1, n * 0.2 - i * 0.5),
        body,
      );
    }
  }
  if (['dragon', 'demon', 'goblin', 'monster', 'boss', 'beast'].includes(type)) {
    c.rect(cx - rx * 0.5, cy - ry - 2 - beat, 1, 2, horn);
    c.set(cx - rx * 0.5 - 1, cy - ry - 3 - beat, horn);
  }
  if (['spider', 'dog', 'cat', 'wolf', 'frog', 'monster', 'beast', 'dragon'].includes(type)) {
    const legs = type === 'spider' ? 3 : 1;
    for (let i = 0; i < legs; i++)
      c.rect(
        cx - rx * 0.6 - i * 2,
        cy + ry * 0.7,
        1,
        n - 2 - (cy + ry * 0.7) - (i === beat ? 1 : 0),
        body,
      );
  }
  c.mirror();
  eyes(c, cx, cy - ry * 0.3 - beat, Math.max(1, Math.round(rx * 0.3)), eye, frame);
  c.set(cx - rx * 0.55, cy - ry * 0.65 - beat, shine);
}

function eyes(
  c: MaterialCanvas,
  cx: number,
  y: number,
  dx: number,
  eye: number,
  frame: number,
): void {
  if (frame % 4 === 3) return; // blink
  c.set(Math.floor(cx) - dx, y, eye);
  c.set(Math.ceil(cx) + dx - 1, y, eye);
}
