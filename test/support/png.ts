import { crc32, deflateSync } from 'node:zlib';

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

/** Encodes straight RGBA8 pixels (row-major, `width * height * 4` bytes) as a PNG, without sharp. */
export function encodeRgbaPng(raw: Buffer, width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  const rows: Buffer[] = [];
  for (let y = 0; y < height; y++) {
    rows.push(Buffer.from([0]), raw.subarray(y * width * 4, (y + 1) * width * 4));
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/**
 * A small valid RGBA PNG, built without sharp (the fake worker, child processes and benches load
 * none): filled with one colour when `fill` is RGBA, or a pattern set by `fill` as a number (each
 * number gives different bytes, so different hashes; the same number the same bytes).
 */
export function makePng(
  width = 4,
  height = 4,
  fill: [number, number, number, number] | number = [200, 40, 40, 255],
): Buffer {
  const raw = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      if (typeof fill === 'number') {
        raw[o] = (fill * 31 + x) & 0xff;
        raw[o + 1] = (fill * 17 + y) & 0xff;
        raw[o + 2] = (fill >>> 8) & 0xff;
        raw[o + 3] = 0xff;
      } else raw.set(fill, o);
    }
  }
  return encodeRgbaPng(raw, width, height);
}
