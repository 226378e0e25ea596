import sharp, { type Metadata } from 'sharp';
import { DaemonError, errorMessage } from '../errors.js';
import type { RawImage } from './raw-image.js';

/** Largest input accepted by default: 64 Mpx (a 1024×1024 worker image is 1 Mpx). */
export const DEFAULT_MAX_INPUT_PIXELS = 64 * 1024 * 1024;

export interface DecodeOptions {
  /** Reject images with more pixels than this (decompression bombs). Default 64 Mpx. */
  maxInputPixels?: number;
}

/**
 * Decodes any image sharp reads (PNG, JPEG, WebP, …) into RGBA. Truncated files,
 * non-images and images over `maxInputPixels` are rejected before the pixels are
 * expanded.
 * @throws DaemonError('BAD_IMAGE') with the reason and what to do.
 */
export async function decodeImage(
  input: Buffer | Uint8Array,
  options: DecodeOptions = {},
): Promise<RawImage & { format: string }> {
  const limit = options.maxInputPixels ?? DEFAULT_MAX_INPUT_PIXELS;
  if (input.length === 0) {
    throw new DaemonError(
      'BAD_IMAGE',
      'Cannot decode image: received 0 bytes; expected PNG, JPEG or WebP data. Check the worker returned an image.',
    );
  }
  let meta: Metadata;
  try {
    meta = await sharp(input, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw new DaemonError(
      'BAD_IMAGE',
      `Cannot decode image: ${input.length} bytes are not a readable image (${errorMessage(err)}); expected PNG, JPEG or WebP data.`,
      { cause: err },
    );
  }
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (width * height > limit) {
    throw new DaemonError(
      'BAD_IMAGE',
      `Cannot decode image: ${width}×${height} = ${width * height} pixels is over the limit of ${limit}; send a smaller image (a worker image is 1024×1024) or raise maxInputPixels.`,
    );
  }
  try {
    const { data, info } = await sharp(input, { limitInputPixels: limit, failOn: 'truncated' })
      .ensureAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.length),
      width: info.width,
      height: info.height,
      format: meta.format ?? 'unknown',
    };
  } catch (err) {
    throw new DaemonError(
      'BAD_IMAGE',
      `Cannot decode image (${meta.format ?? 'unknown format'} ${width}×${height}): ${errorMessage(err)}. The file is truncated or corrupt; fetch it again from the worker.`,
      { cause: err },
    );
  }
}

/** Encodes RGBA pixels as PNG (palette mode when `palette` colours fit in 256, smaller files). */
export async function encodePng(img: RawImage, opts: { palette?: boolean } = {}): Promise<Buffer> {
  const pipeline = sharp(img.data, {
    raw: { width: img.width, height: img.height, channels: 4 },
  });
  // libimagequant with dither 0 and quality 100 keeps ≤256 exact colours unchanged.
  return opts.palette
    ? pipeline.png({ palette: true, colours: 256, dither: 0, quality: 100, effort: 1 }).toBuffer()
    : pipeline.png({ compressionLevel: 6 }).toBuffer();
}
