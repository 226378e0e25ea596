import { blankImage, type RawImage } from './raw-image.js';

/**
 * One anchor per frame of a character set: the feet row (the lowest opaque row)
 * and the body's centre column — the median of the figure's core columns, i.e.
 * the columns whose opaque run is at least half the tallest one. A sword held
 * out or a stride widens a frame's bounding box, but barely moves the core, so
 * frames aligned on it do not jitter.
 */
export interface Anchor {
  /** Centre column of the body. */
  x: number;
  /** Lowest opaque row (the feet). */
  y: number;
  /** Opaque extent of the frame [left, top, right, bottom] (inclusive). */
  box: [number, number, number, number];
}

/** Share of the tallest column's opaque count a column needs to count as core. */
const CORE_SHARE = 0.5;

/** The anchor of a frame, or undefined when it has no opaque pixel. */
export function frameAnchor(img: RawImage): Anchor | undefined {
  const { width: w, height: h, data } = img;
  const counts = new Int32Array(w);
  let left = w;
  let right = -1;
  let top = h;
  let bottom = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if ((data[(y * w + x) * 4 + 3] as number) === 0) continue;
      counts[x] = (counts[x] as number) + 1;
      if (x < left) left = x;
      if (x > right) right = x;
      if (y < top) top = y;
      if (y > bottom) bottom = y;
    }
  }
  if (right < 0) return undefined;
  let max = 0;
  for (const c of counts) if (c > max) max = c;
  const core: number[] = [];
  for (let x = 0; x < w; x++) if ((counts[x] as number) >= max * CORE_SHARE) core.push(x);
  return {
    x: core[Math.floor((core.length - 1) / 2)] as number,
    y: bottom,
    box: [left, top, right, bottom],
  };
}

/** The frame size and the anchor point every frame is placed on. */
export interface AnchorFrame {
  width: number;
  height: number;
  /** Where each frame's anchor lands: column and feet row inside the frame. */
  x: number;
  y: number;
  /** True when `size` was too small for the aligned figures (the frame grew). */
  grew: boolean;
}

/**
 * The smallest frame that holds every figure with its anchor on one point, at
 * least `size` when given (then the anchor column is the frame's middle where the
 * figures allow, and the feet sit on the bottom row).
 */
export function commonFrame(anchors: (Anchor | undefined)[], size?: [number, number]): AnchorFrame {
  let left = 0;
  let right = 0;
  let up = 0;
  for (const a of anchors) {
    if (a === undefined) continue;
    left = Math.max(left, a.x - a.box[0]);
    right = Math.max(right, a.box[2] - a.x);
    up = Math.max(up, a.y - a.box[1]);
  }
  const needW = left + right + 1;
  const needH = up + 1;
  if (size === undefined) return { width: needW, height: needH, x: left, y: up, grew: false };
  const width = Math.max(size[0], needW);
  const height = Math.max(size[1], needH);
  const x = Math.min(Math.max(Math.floor(width / 2), left), width - 1 - right);
  return { width, height, x, y: height - 1, grew: width > size[0] || height > size[1] };
}

/** `img` copied onto a transparent frame so that its anchor lands on (frame.x, frame.y). */
export function placeOnAnchor(
  img: RawImage,
  anchor: Anchor | undefined,
  frame: AnchorFrame,
): RawImage {
  const out = blankImage(frame.width, frame.height);
  if (anchor === undefined) return out;
  const dx = frame.x - anchor.x;
  const dy = frame.y - anchor.y;
  for (let y = 0; y < img.height; y++) {
    const ty = y + dy;
    if (ty < 0 || ty >= frame.height) continue;
    for (let x = 0; x < img.width; x++) {
      const tx = x + dx;
      if (tx < 0 || tx >= frame.width) continue;
      const s = (y * img.width + x) * 4;
      if ((img.data[s + 3] as number) === 0) continue;
      out.data.set(img.data.subarray(s, s + 4), (ty * frame.width + tx) * 4);
    }
  }
  return out;
}

/** The image mirrored left to right (a west-facing frame from an east-facing one). */
export function flipX(img: RawImage): RawImage {
  const out = blankImage(img.width, img.height);
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const s = (y * img.width + x) * 4;
      out.data.set(img.data.subarray(s, s + 4), (y * img.width + (img.width - 1 - x)) * 4);
    }
  }
  return out;
}
