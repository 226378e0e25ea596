import sharp, { type Metadata } from 'sharp';
import { DaemonError } from '../errors.js';

export interface ThumbnailOptions {
  /** Longest side of the thumbnail, px (default 256). */
  maxSize?: number;
  /** Largest PNG accepted, bytes (default 65 536). */
  maxBytes?: number;
}

/**
 * A small PNG preview for MCP clients: pixel art scaled by the largest integer
 * factor that fits `maxSize` (nearest neighbour, so pixels stay crisp), or
 * shrunk to fit when larger; then halved until it is under `maxBytes`.
 * @throws DaemonError('BAD_IMAGE') when `png` is not an image or cannot fit `maxBytes` even at 8 px.
 */
export async function makeThumbnail(
  png: Buffer | Uint8Array,
  options: ThumbnailOptions = {},
): Promise<{ png: Buffer; width: number; height: number; bytes: number }> {
  const maxSize = options.maxSize ?? 256;
  const maxBytes = options.maxBytes ?? 65_536;
  let meta: Metadata;
  try {
    meta = await sharp(png).metadata();
  } catch (err) {
    throw new DaemonError(
      'BAD_IMAGE',
      `Cannot make a thumbnail: the input is not a readable image (${(err as Error).message}).`,
      { cause: err },
    );
  }
  const w = meta.width ?? 1;
  const h = meta.height ?? 1;
  const longest = Math.max(w, h);
  let scale = longest <= maxSize ? Math.max(1, Math.floor(maxSize / longest)) : maxSize / longest;
  for (;;) {
    const tw = Math.max(1, Math.round(w * scale));
    const th = Math.max(1, Math.round(h * scale));
    const out = await sharp(png)
      .resize(tw, th, { kernel: scale >= 1 ? 'nearest' : 'lanczos3', fit: 'fill' })
      .png({ compressionLevel: 9, palette: scale < 1 })
      .toBuffer();
    if (out.length <= maxBytes) return { png: out, width: tw, height: th, bytes: out.length };
    if (Math.max(tw, th) <= 8) {
      throw new DaemonError(
        'BAD_IMAGE',
        `Cannot make a thumbnail under ${maxBytes} bytes (smallest attempt ${tw}×${th} is ${out.length} bytes); raise maxBytes.`,
      );
    }
    scale = scale >= 2 ? Math.floor(scale / 2) : scale / 2;
  }
}
