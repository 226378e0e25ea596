import { z } from 'zod';

/**
 * Extension `pose` of `generate` (ours; shared/PROTOCOL.md "Extensions"): which
 * facing and which animation of a character the picture shows, independent of
 * the prompt. A worker that advertises `pose` in `capabilities_info.extensions`
 * draws the same character (same subject, colours and proportions for the same
 * prompt and seed) turned that way; `animation_frames` N gives N frames of the
 * animation side by side. The Python worker would silently drop the field, so the
 * daemon sends it only to workers that advertise it.
 */

/** The four facings, in sheet row order (a game's "down, left, right, up"). */
export const FACINGS_4 = ['south', 'west', 'east', 'north'] as const;
/** Eight facings: the four, then the diagonals (rows 0–3 equal a 4-direction sheet's). */
export const FACINGS_8 = [
  ...FACINGS_4,
  'south_west',
  'south_east',
  'north_west',
  'north_east',
] as const;
export type Facing = (typeof FACINGS_8)[number];

/** The facing a west-side facing is the mirror image of (west ← east, …). */
export const MIRROR_OF: Partial<Record<Facing, Facing>> = {
  west: 'east',
  south_west: 'south_east',
  north_west: 'north_east',
};

/** The facings of a `directions` 4 or 8 set, in sheet row order. */
export function facingsFor(directions: 4 | 8): readonly Facing[] {
  return directions === 8 ? FACINGS_8 : FACINGS_4;
}

/** Animation kinds a `pose` worker knows; other names draw as `idle`. `stand` is one still frame. */
export const POSE_ANIMATIONS = ['stand', 'idle', 'walk', 'run'] as const;

export const PoseSchema = z.object({
  facing: z.enum(FACINGS_8),
  /** Animation name (walk, run, idle, stand, or any other name: drawn as idle). */
  animation: z.string(),
});
export type Pose = z.infer<typeof PoseSchema>;

/** The capability name a worker lists when it honours `generate.pose`. */
export const POSE_EXTENSION = 'pose';
