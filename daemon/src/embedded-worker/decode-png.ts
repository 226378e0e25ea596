import sharp from 'sharp';

/** Decoding the PNGs of a generate's image conditioning (init_image, mask, reference_images), for every engine. */

/** An RGBA picture (4 channels, row-major). */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Largest picture a conditioning PNG may decode to (pixels). */
const MAX_INPUT_PIXELS = 4096 * 4096;

/**
 * Decode one conditioning PNG to RGBA. Throws an Error naming `field` and the fix when
 * the bytes are not a decodable PNG (never crashes the worker on bad bytes).
 */
export async function decodeConditioningPng(bytes: Uint8Array, field: string): Promise<RgbaImage> {
  try {
    const image = sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error' });
    const meta = await image.metadata();
    if (meta.format !== 'png') throw new Error(`it is ${meta.format ?? 'not an image'}, not PNG`);
    const { data, info } = await image.ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    return {
      width: info.width,
      height: info.height,
      data: new Uint8Array(data.buffer, data.byteOffset, data.length),
    };
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new Error(
      `${field} is not a decodable PNG (${why}); send the bytes of a PNG file of at most 4096×4096 pixels`,
    );
  }
}
