import { POSE_EXTENSION } from './pose.js';

/**
 * Image conditioning extensions of `generate` (ours; shared/PROTOCOL.md "Extensions").
 * Each is a capability name a worker lists in `capabilities_info.extensions` when it
 * honours the field of the same name. The Python worker silently ignores unknown
 * `generate` fields, so the daemon sends a field only to a worker that lists it.
 *
 * - `init_image` (PNG bytes, msgpack bin) + `strength` (float 0..1, how much may change):
 *   img2img; the picture keeps the init image's subject.
 * - `mask` (PNG bytes, white = repaint; needs `init_image`): inpainting.
 * - `reference_images` (array of PNG bytes): the same character / style as the references.
 */
export const INIT_IMAGE_EXTENSION = 'init_image';
export const MASK_EXTENSION = 'mask';
export const REFERENCE_IMAGES_EXTENSION = 'reference_images';

/**
 * The extensions a generation uses, in wire order, from its camelCase fields (the daemon's
 * WorkerJobParams, the embedded worker's job): a worker gets it only if it lists every one.
 */
export function extensionsUsed(p: {
  pose?: unknown;
  initImage?: unknown;
  mask?: unknown;
  referenceImages?: readonly unknown[] | undefined;
}): string[] {
  const used: string[] = [];
  if (p.pose !== undefined) used.push(POSE_EXTENSION);
  if (p.initImage !== undefined) used.push(INIT_IMAGE_EXTENSION);
  if (p.mask !== undefined) used.push(MASK_EXTENSION);
  if (p.referenceImages !== undefined && p.referenceImages.length > 0)
    used.push(REFERENCE_IMAGES_EXTENSION);
  return used;
}
