import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { isDaemonError } from '../../daemon/src/errors.js';
import { decodeImage } from '../../daemon/src/sprites/decode.js';

async function bytesOf(): Promise<Buffer> {
  return sharp({ create: { width: 20, height: 10, channels: 3, background: '#ff0000' } })
    .png()
    .toBuffer();
}

describe('decodeImage', () => {
  it('decodes a PNG to RGBA with alpha added', async () => {
    const img = await decodeImage(await bytesOf());
    expect([img.width, img.height, img.data.length, img.format]).toEqual([20, 10, 800, 'png']);
    expect([...img.data.subarray(0, 4)]).toEqual([255, 0, 0, 255]);
  });

  it.each([
    ['empty input', () => Buffer.alloc(0), /received 0 bytes; expected PNG, JPEG or WebP data/],
    ['text', () => Buffer.from('definitely not an image'), /23 bytes are not a readable image/],
  ])('rejects %s with BAD_IMAGE', async (_name, make, message) => {
    const err = await decodeImage(make()).catch((e: unknown) => e);
    expect(isDaemonError(err, 'BAD_IMAGE')).toBe(true);
    expect((err as Error).message).toMatch(message);
  });

  it('rejects a truncated PNG and says to fetch it again', async () => {
    const png = await sharp({
      create: { width: 200, height: 200, channels: 3, background: '#123456' },
    })
      .png({ compressionLevel: 0 })
      .toBuffer();
    const err = await decodeImage(png.subarray(0, Math.floor(png.length / 2))).catch(
      (e: unknown) => e,
    );
    expect(isDaemonError(err, 'BAD_IMAGE')).toBe(true);
    expect((err as Error).message).toMatch(/truncated or corrupt; fetch it again/);
  });

  it('rejects images over the pixel limit before expanding them (decompression bombs)', async () => {
    const err = await decodeImage(await bytesOf(), { maxInputPixels: 100 }).catch(
      (e: unknown) => e,
    );
    expect(isDaemonError(err, 'BAD_IMAGE')).toBe(true);
    expect((err as Error).message).toBe(
      'Cannot decode image: 20×10 = 200 pixels is over the limit of 100; send a smaller image (a worker image is 1024×1024) or raise maxInputPixels.',
    );
  });
});
