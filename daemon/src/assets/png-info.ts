import { createHash } from 'node:crypto';
import { DaemonError } from '../errors.js';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Width and height from a PNG's IHDR chunk (bytes 16..24), without decoding:
 * the deploy path stays free of sharp. Throws DaemonError('BAD_IMAGE') when
 * the bytes are not a PNG.
 */
export function readPngSize(png: Uint8Array, label = 'image'): { width: number; height: number } {
  const buf = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  if (
    buf.length < 24 ||
    !buf.subarray(0, 8).equals(SIGNATURE) ||
    buf.toString('latin1', 12, 16) !== 'IHDR'
  ) {
    throw new DaemonError(
      'BAD_IMAGE',
      `${label} is not a PNG (${buf.length} bytes, starts with ${buf.subarray(0, 8).toString('hex') || 'nothing'}); ` +
        'expected the PNG signature 89504e470d0a1a0a followed by IHDR; pass a PNG file',
    );
  }
  const width = buf.readUInt32BE(16);
  const height = buf.readUInt32BE(20);
  if (width === 0 || height === 0) {
    throw new DaemonError(
      'BAD_IMAGE',
      `${label} has an empty size ${width}x${height} in its IHDR; pass a real image`,
    );
  }
  return { width, height };
}

/** Largest side deployed: wgpu's default max_texture_dimension_2d, the limit Bevy loads with. */
export const MAX_DEPLOY_SIDE = 8192;
const IEND = Buffer.from([0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]);

/**
 * Refuse a PNG the game could not load, without decoding it: a side over MAX_DEPLOY_SIDE
 * (e.g. a decompression bomb of a few KB claiming 20000×20000) or no IEND chunk at the end
 * (a truncated file). Throws DaemonError('BAD_IMAGE').
 */
export function assertDeployablePng(png: Uint8Array, label = 'image'): void {
  const { width, height } = readPngSize(png, label);
  if (width > MAX_DEPLOY_SIDE || height > MAX_DEPLOY_SIDE) {
    throw new DaemonError(
      'BAD_IMAGE',
      `${label} is ${width}x${height}; a game texture may be at most ${MAX_DEPLOY_SIDE} px per side (wgpu's limit); deploy a sprite, not a raw or oversized image`,
    );
  }
  const tail = Buffer.from(png.buffer, png.byteOffset + png.byteLength - IEND.length, IEND.length);
  if (png.byteLength < 24 + IEND.length || !tail.equals(IEND)) {
    throw new DaemonError(
      'BAD_IMAGE',
      `${label} is truncated: it does not end with the PNG IEND chunk (${png.byteLength} bytes); regenerate or re-export it`,
    );
  }
}

/** Lower-case hex sha256 of `data`. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}
