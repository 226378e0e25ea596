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

/** A humanoid: head, hair or headgear, torso, arms, legs; robes and hats for casters. */
export function drawCharacter(c: MaterialCanvas, rng: Rng, subject: Subject, frame: number): void {
  const n = c.size;
  const pose = poseFor(subject.motion, frame);
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
  const armW = Math.max(1, Math.round(n * 0.07));
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
    // robe widens toward the floor instead of legs
    for (let y = legTop; y < ground; y++) {
      const w = torsoHalf + Math.round(((y - legTop) / Math.max(1, ground - legTop)) * n * 0.08);
      c.rect(cx - w, y, w, 1, cloth);
    }
    for (let i = 0; i <= Math.round(n * 0.16); i++) {
      const w = Math.max(1, Math.round(headR * 1.4 * (1 - i / (n * 0.16))));
      c.rect(cx - w, headCy - headR + 1 - i, w, 1, pants);
    }
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
    const legH = ground - legTop;
    const legs: [number, number][] = [
      [cx - 1 - legW - pose.stride, pose.leftLift],
      [cx + 1 + pose.stride, pose.rightLift],
    ];
    for (const [x, lift] of legs) {
      c.rect(x, legTop, legW, legH - lift, pants);
      c.rect(
        x,
        legTop + legH - lift - Math.max(1, Math.round(n * 0.06)),
        legW,
        Math.max(1, Math.round(n * 0.06)),
        boots,
      );
    }
  }
  const eyeY = headCy + (armoured ? 0 : 0);
  const eyeDx = Math.max(1, Math.round(headR * 0.45));
  if (!pose.blink) {
    c.set(Math.floor(cx) - eyeDx, eyeY, eye);
    c.set(Math.ceil(cx) + eyeDx - 1, eyeY, eye);
  }
  if (armoured) {
    const blade = c.add({ base: [200, 205, 215] });
    const x = cx + torsoHalf + armW + 1;
    c.rect(x, torsoTop - Math.round(n * 0.12), 1, torsoH + Math.round(n * 0.1), blade);
    c.rect(x - 1, torsoTop + torsoH - 2, 3, 1, belt);
  }
  if (caster) {
    const staff = c.add({ base: [120, 80, 45] });
    const orb = c.add({ base: subject.colours[1] ?? [80, 200, 240] });
    const x = cx + torsoHalf + armW + 1;
    c.rect(x, torsoTop - 2, 1, ground - torsoTop + 2, staff);
    c.ellipse(x + 0.5, torsoTop - 3, 1.4, 1.4, orb);
  }
}

function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [a[0] * (1 - t) + b[0] * t, a[1] * (1 - t) + b[1] * t, a[2] * (1 - t) + b[2] * t];
}
