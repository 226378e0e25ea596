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
