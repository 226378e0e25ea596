import type { MaterialCanvas } from './canvas.js';
import { hslToRgb, type Rgb } from './colour.js';
import type { Rng } from './rng.js';
import type { Subject } from './subject.js';

const SKINS: readonly Rgb[] = [
  [245, 205, 170],
  [225, 170, 125],
  [180, 120, 80],
  [120, 80, 55],
];

/** Frame pose of an animation: a 4-phase walk cycle or a 2-beat idle bob with a blink. */
export interface Pose {
  bob: number;
  leftLift: number;
  rightLift: number;
  stride: number;
  blink: boolean;
}

export function poseFor(motion: Subject['motion'], frame: number): Pose {
  if (motion === 'walk') {
    const phase = frame % 4;
    return {
      bob: phase % 2 === 1 ? 1 : 0,
      leftLift: phase === 1 ? 1 : 0,
      rightLift: phase === 3 ? 1 : 0,
      stride: phase === 1 ? 1 : phase === 3 ? -1 : 0,
      blink: false,
    };
  }
  return { bob: frame % 2, leftLift: 0, rightLift: 0, stride: 0, blink: frame % 4 === 3 };
}

/** How a character is seen: from the front, the back, its right side, or three-quarter. */
export type View = 'front' | 'back' | 'side' | 'front3q' | 'back3q';

/** The drawing of a facing: east-side views drawn as they are, west-side ones mirrored. */
export function viewOf(facing: string | undefined): { view: View; flip: boolean } {
  switch (facing) {
    case 'north':
      return { view: 'back', flip: false };
    case 'east':
      return { view: 'side', flip: false };
    case 'west':
      return { view: 'side', flip: true };
    case 'south_east':
      return { view: 'front3q', flip: false };
    case 'south_west':
      return { view: 'front3q', flip: true };
    case 'north_east':
      return { view: 'back3q', flip: false };
    case 'north_west':
      return { view: 'back3q', flip: true };
    default:
      return { view: 'front', flip: false };
  }
}

/**
 * A humanoid: head, hair or headgear, torso, arms, legs; robes and hats for casters.
 * `facing` (extension `pose`) turns the same figure: same materials in the same
 * order, same proportions and feet row, whatever the facing. West-side facings are
 * the east-side drawing mirrored, with the weapon hand on the far side (behind the body).
 */
export function drawCharacter(
  c: MaterialCanvas,
  rng: Rng,
  subject: Subject,
  frame: number,
  facing?: string,
  motion: Subject['motion'] | 'stand' = subject.motion,
): void {
  const n = c.size;
  const pose: Pose =
    motion === 'stand'
      ? { bob: 0, leftLift: 0, rightLift: 0, stride: 0, blink: false }
      : poseFor(motion, frame);
  const cx = n / 2;
  const type = subject.subtype;
  const armoured = ['knight', 'warrior', 'soldier', 'paladin'].includes(type);
  const caster = ['wizard', 'mage', 'witch', 'sorcerer'].includes(type);
  const robot = type === 'robot';
  const main = subject.colours[0] ?? hslToRgb(rng.range(0, 360), rng.range(0.45, 0.75), 0.45);
  const second = subject.colours[1] ?? hslToRgb(rng.range(0, 360), rng.range(0.3, 0.6), 0.35);

  const skin = c.add({ base: robot ? [150, 155, 165] : rng.pick(SKINS) });
  const hair = c.add({
    base: armoured ? [170, 175, 185] : hslToRgb(rng.range(10, 50), 0.5, rng.range(0.2, 0.6)),
  });
  // armour is steel with a tabard in the prompt's colour, so "red knight" reads red
  const cloth = c.add({ base: armoured ? mix(main, [180, 185, 195], 0.8) : main });
  const tabard = armoured ? c.add({ base: main }) : cloth;
  const pants = c.add({ base: second });
  const boots = c.add({ base: [90, 60, 40] });
  const belt = c.add({ base: [215, 170, 50] });
  const eye = c.add({ base: robot ? [60, 230, 240] : [25, 20, 35], flat: true });

  const headR = Math.max(2, Math.round(n * 0.15));
  const top = Math.max(2, Math.round(n * 0.12)) + (caster ? Math.round(n * 0.06) : 0);
  const headCy = top + headR + pose.bob;
  const torsoTop = headCy + headR;
  const torsoH = Math.max(3, Math.round(n * 0.28));
  const torsoHalf = Math.max(2, Math.round(n * 0.17));
  const legTop = torsoTop + torsoH;
  const ground = n - 2;
  const legW = Math.max(1, Math.round(n * 0.1));
  const armW = Math.max(1, Math.round(n * 0.07));
  const d: Dims = { n, cx, headR, headCy, torsoTop, torsoH, torsoHalf, legTop, ground, legW, armW };
  const m: Mats = { skin, hair, cloth, tabard, pants, boots, belt, eye };
  const kind: Build = { armoured, caster, robot };
  const { view, flip } = viewOf(facing);
  if (view !== 'front') {
    drawTurned(c, view, flip, pose, d, m, kind, subject);
    if (flip) c.flipX();
    return;
  }

  // left half, then mirrored: symmetric body
  if (robot) c.rect(cx - headR, headCy - headR, headR, headR * 2, skin);
  else c.ellipse(cx, headCy, headR, headR, skin);
  c.rect(cx - torsoHalf, torsoTop, torsoHalf, torsoH, cloth);
  if (armoured)
    c.rect(
      cx - Math.max(1, torsoHalf - 1),
      torsoTop + 1,
      Math.max(1, torsoHalf - 1),
      torsoH - 1,
      tabard,
    );
  c.rect(cx - torsoHalf - armW, torsoTop + 1, armW, torsoH - 1, cloth);
  c.rect(
    cx - torsoHalf - armW,
    torsoTop + torsoH - 1,
    armW,
    Math.max(1, Math.round(n * 0.05)),
    skin,
  );
  c.rect(
    cx - torsoHalf,
    legTop - Math.max(1, Math.round(n * 0.05)),
    torsoHalf,
    Math.max(1, Math.round(n * 0.04)),
    belt,
  );
  if (caster) {
    robe(c, d, cloth);
    hat(c, d, pants, 0);
  } else if (armoured) {
    c.rect(cx - headR, headCy - headR, headR, Math.max(1, Math.round(headR * 0.9)), hair);
  } else if (robot) {
    c.rect(cx - 1, headCy - headR - Math.round(n * 0.08), 1, Math.round(n * 0.08), hair);
  } else {
    c.rect(cx - headR, headCy - headR, headR, Math.max(1, Math.round(headR * 0.7)), hair);
  }
  c.mirror();

  if (!caster) {
    // legs are drawn after mirroring: a walk cycle lifts and moves them apart
    const legs: [number, number][] = [
      [cx - 1 - legW - pose.stride, pose.leftLift],
      [cx + 1 + pose.stride, pose.rightLift],
    ];
    for (const [x, lift] of legs) leg(c, d, m, x, lift);
  }
  const eyeY = headCy;
  const eyeDx = Math.max(1, Math.round(headR * 0.45));
  if (!pose.blink) {
    c.set(Math.floor(cx) - eyeDx, eyeY, eye);
    c.set(Math.ceil(cx) + eyeDx - 1, eyeY, eye);
  }
  weapon(c, d, m, kind, subject, cx + torsoHalf + armW + 1);
}

interface Dims {
  n: number;
  cx: number;
  headR: number;
  headCy: number;
  torsoTop: number;
  torsoH: number;
  torsoHalf: number;
  legTop: number;
  ground: number;
  legW: number;
  armW: number;
}
interface Mats {
  skin: number;
  hair: number;
  cloth: number;
  tabard: number;
  pants: number;
  boots: number;
  belt: number;
  eye: number;
}
interface Build {
  armoured: boolean;
  caster: boolean;
  robot: boolean;
}

function leg(c: MaterialCanvas, d: Dims, m: Mats, x: number, lift: number): void {
  const legH = d.ground - d.legTop;
  const bootH = Math.max(1, Math.round(d.n * 0.06));
  c.rect(x, d.legTop, d.legW, legH - lift, m.pants);
  c.rect(x, d.legTop + legH - lift - bootH, d.legW, bootH, m.boots);
}

/** A caster's robe, widening toward the floor (left half, or full when `full`). */
function robe(c: MaterialCanvas, d: Dims, cloth: number, full = false, narrow = 1): void {
  for (let y = d.legTop; y < d.ground; y++) {
    const w =
      Math.round(d.torsoHalf * narrow) +
      Math.round(((y - d.legTop) / Math.max(1, d.ground - d.legTop)) * d.n * 0.08);
    c.rect(d.cx - w, y, full ? 2 * w : w, 1, cloth);
  }
}

/** A pointed hat over the head (left half at `shift` 0; full and shifted for turned views). */
function hat(c: MaterialCanvas, d: Dims, material: number, shift: number, full = false): void {
  for (let i = 0; i <= Math.round(d.n * 0.16); i++) {
    const w = Math.max(1, Math.round(d.headR * 1.4 * (1 - i / (d.n * 0.16))));
    c.rect(
      d.cx - w + shift * (i / (d.n * 0.16)),
      d.headCy - d.headR + 1 - i,
      full ? 2 * w : w,
      1,
      material,
    );
  }
}

/** Sword for armoured builds, staff and orb for casters, at column `x`. */
function weapon(
  c: MaterialCanvas,
  d: Dims,
  m: Mats,
  kind: Build,
  subject: Subject,
  x: number,
): void {
  const { n, torsoTop, torsoH, ground } = d;
  if (kind.armoured) {
    const blade = c.add({ base: [200, 205, 215] });
    c.rect(x, torsoTop - Math.round(n * 0.12), 1, torsoH + Math.round(n * 0.1), blade);
    c.rect(x - 1, torsoTop + torsoH - 2, 3, 1, m.belt);
  }
  if (kind.caster) {
    const staff = c.add({ base: [120, 80, 45] });
    const orb = c.add({ base: subject.colours[1] ?? [80, 200, 240] });
    c.rect(x, torsoTop - 2, 1, ground - torsoTop + 2, staff);
    c.ellipse(x + 0.5, torsoTop - 3, 1.4, 1.4, orb);
  }
}

/**
 * Back, side and three-quarter views, drawn whole (no mirroring): the body narrows
 * when turned, the face moves toward the facing side or disappears behind the hair,
 * legs stride forward and back in a side-on walk, the arm swings against the leg.
 * `far` (a west-side facing, mirrored afterwards): the weapon is drawn before the
 * body, so it shows only where the body does not cover it.
 */
function drawTurned(
  c: MaterialCanvas,
  view: Exclude<View, 'front'>,
  far: boolean,
  pose: Pose,
  d: Dims,
  m: Mats,
  kind: Build,
  subject: Subject,
): void {
  const { n, cx, headR, headCy, torsoTop, torsoH, legTop, armW, legW } = d;
  const back = view === 'back' || view === 'back3q';
  const narrow = view === 'side' ? 0.6 : view === 'back' ? 1 : 0.85;
  const half = Math.max(2, Math.round(d.torsoHalf * narrow));
  // which way the face points: +1 right (east side), 0 straight on
  const turn = view === 'side' ? 1 : view === 'back' ? 0 : 1;
  const weaponX =
    view === 'side' ? cx + half + 1 : back ? cx - half - armW - 2 : cx + half + armW + 1;
  if (far) weapon(c, d, m, kind, subject, weaponX);
  // head
  if (kind.robot) c.rect(cx - headR, headCy - headR, headR * 2, headR * 2, m.skin);
  else c.ellipse(cx, headCy, headR, headR, m.skin);
  // torso
  c.rect(cx - half, torsoTop, half * 2, torsoH, m.cloth);
  if (kind.armoured && !back)
    c.rect(
      cx - half + 1 + turn,
      torsoTop + 1,
      Math.max(1, half * 2 - 2 - turn),
      torsoH - 1,
      m.tabard,
    );
  c.rect(
    cx - half,
    legTop - Math.max(1, Math.round(n * 0.05)),
    half * 2,
    Math.max(1, Math.round(n * 0.04)),
    m.belt,
  );
  const handH = Math.max(1, Math.round(n * 0.05));
  const swing = Math.max(1, Math.round(n * 0.06));
  if (view === 'side') {
    // one arm, in front, swinging against the front leg
    const ax = cx - Math.floor(armW / 2) - pose.stride * swing;
    c.rect(ax, torsoTop + 1, armW, torsoH - 1, m.cloth);
    c.rect(ax, torsoTop + torsoH - 1, armW, handH, m.skin);
  } else {
    for (const sx of [cx - half - armW, cx + half]) {
      c.rect(sx, torsoTop + 1, armW, torsoH - 1, m.cloth);
      c.rect(sx, torsoTop + torsoH - 1, armW, handH, m.skin);
    }
  }
  // hair / headgear: covers the back of the head (all of it from behind)
  const hairH = Math.max(1, Math.round(headR * (kind.armoured ? 0.9 : 0.7)));
  if (kind.robot) {
    c.rect(cx - 1 - turn, headCy - headR - Math.round(n * 0.08), 1, Math.round(n * 0.08), m.hair);
  } else if (back) {
    c.rect(cx - headR, headCy - headR, headR * 2, headR * 2 - 1, m.hair);
  } else if (view === 'side') {
    c.rect(cx - headR, headCy - headR, headR * 2, hairH, m.hair);
    c.rect(cx - headR, headCy - headR, headR, headR + 1, m.hair);
  } else {
    c.rect(cx - headR, headCy - headR, headR * 2, hairH, m.hair);
    c.rect(cx - headR, headCy - headR, Math.max(1, Math.round(headR / 2)), headR, m.hair);
  }
  if (kind.caster) {
    robe(c, d, m.cloth, true, narrow);
    hat(c, d, m.pants, back ? 0 : -turn, true);
  }
  if (!kind.caster) {
    if (view === 'side') {
      // side-on: one leg forward, one back
      const x0 = cx - Math.floor(legW / 2);
      leg(c, d, m, x0 - pose.stride * swing, pose.rightLift);
      leg(c, d, m, x0 + pose.stride * swing, pose.leftLift);
    } else {
      const gap = view === 'back' ? 1 : 0;
      leg(c, d, m, cx - gap - legW - pose.stride, pose.leftLift);
      leg(c, d, m, cx + gap + pose.stride, pose.rightLift);
    }
  }
  if (!back && !pose.blink) {
    const eyeDx = Math.max(1, Math.round(headR * 0.45));
    if (view === 'side') {
      c.set(Math.ceil(cx) + eyeDx, headCy, m.eye);
    } else {
      c.set(Math.floor(cx) - eyeDx + 1, headCy, m.eye);
      c.set(Math.ceil(cx) + eyeDx, headCy, m.eye);
    }
  }
  if (!far) weapon(c, d, m, kind, subject, weaponX);
}

function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [a[0] * (1 - t) + b[0] * t, a[1] * (1 - t) + b[1] * t, a[2] * (1 - t) + b[2] * t];
}
