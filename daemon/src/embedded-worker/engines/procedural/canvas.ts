import { nearest, type Rgb } from './colour.js';
import { type StyleSpec, styleRamp } from './styles.js';

/** One paint of the sprite: a base colour shaded by the style, or a flat colour (eyes, shine). */
export interface Material {
  base: Rgb;
  /** Drawn as-is (snapped to the style's master palette), never shaded. */
  flat?: boolean;
}

const EMPTY = -1;

/**
 * A square logical canvas of material indices. Shapes paint materials; `toRgba`
 * shades them (light from the top-left), outlines the silhouette and turns
 * everything into the style's colours.
 */
export class MaterialCanvas {
  readonly cells: Int16Array;

  constructor(
    readonly size: number,
    readonly materials: Material[] = [],
  ) {
    this.cells = new Int16Array(size * size).fill(EMPTY);
  }

  /** Register a material, returning its index for painting. */
  add(material: Material): number {
    this.materials.push(material);
    return this.materials.length - 1;
  }

  inside(x: number, y: number): boolean {
    return x >= 0 && y >= 0 && x < this.size && y < this.size;
  }

  get(x: number, y: number): number {
    return this.inside(x, y) ? (this.cells[y * this.size + x] as number) : EMPTY;
  }

  set(x: number, y: number, material: number): void {
    const xi = Math.round(x);
    const yi = Math.round(y);
    if (this.inside(xi, yi)) this.cells[yi * this.size + xi] = material;
  }

  clear(x: number, y: number): void {
    this.set(x, y, EMPTY);
  }

  rect(x0: number, y0: number, w: number, h: number, material: number): void {
    for (let y = Math.round(y0); y < Math.round(y0 + h); y++) {
      for (let x = Math.round(x0); x < Math.round(x0 + w); x++) this.set(x, y, material);
    }
  }

  /** Filled ellipse centred on (cx, cy), radii in logical pixels. */
  ellipse(cx: number, cy: number, rx: number, ry: number, material: number): void {
    for (let y = Math.floor(cy - ry); y <= Math.ceil(cy + ry); y++) {
      for (let x = Math.floor(cx - rx); x <= Math.ceil(cx + rx); x++) {
        const dx = (x + 0.5 - cx) / Math.max(rx, 0.5);
        const dy = (y + 0.5 - cy) / Math.max(ry, 0.5);
        if (dx * dx + dy * dy <= 1) this.set(x, y, material);
      }
    }
  }

  /** Copy the left half onto the right half (left/right symmetric sprites). */
  mirror(): void {
    const n = this.size;
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n / 2; x++)
        this.cells[y * n + (n - 1 - x)] = this.cells[y * n + x] as number;
    }
  }

  /** Mirror the whole canvas left to right (a west-facing figure from an east-facing one). */
  flipX(): void {
    const n = this.size;
    for (let y = 0; y < n; y++) this.cells.subarray(y * n, (y + 1) * n).reverse();
  }

  /** Move everything by (dx, dy) whole pixels; what leaves the canvas is lost. */
  shift(dx: number, dy: number): void {
    const n = this.size;
    const copy = this.cells.slice();
    this.cells.fill(EMPTY);
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        const m = copy[y * n + x] as number;
        if (m !== EMPTY) this.set(x + dx, y + dy, m);
      }
    }
  }

  /**
   * Shade, outline and colour. Returns RGBA (alpha 0 outside the sprite) and the
   * distinct colours used. `outline` false for tiles, which fill their square.
   */
  toRgba(spec: StyleSpec, outline = true): { rgba: Uint8Array; colours: Rgb[] } {
    const n = this.size;
    const ramps = this.materials.map((m) =>
      m.flat ? [snap(spec, m.base)] : styleRamp(spec, m.base),
    );
    const rgba = new Uint8Array(n * n * 4);
    const used = new Map<string, Rgb>();
    const put = (i: number, c: Rgb): void => {
      rgba.set([c[0], c[1], c[2], 255], i * 4);
      used.set(c.join(','), c);
    };
    const L = spec.rampLevels;
    const base = L >= 4 ? 2 : 1;
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        const m = this.get(x, y);
        if (m === EMPTY) continue;
        const ramp = ramps[m] as Rgb[];
        if (ramp.length === 1) {
          put(y * n + x, ramp[0] as Rgb);
          continue;
        }
        const differs = (xx: number, yy: number): boolean => this.get(xx, yy) !== m;
        const lit = differs(x, y - 1) || differs(x - 1, y);
        const dark = differs(x, y + 1) || differs(x + 1, y);
        let level = base + (lit ? 1 : 0) - (dark ? 1 : 0);
        if (L >= 4) {
          if (differs(x, y + 1) && differs(x + 1, y)) level -= 1;
          if (!dark && differs(x, y + 2)) level -= 1;
          if (spec.highlight && differs(x, y - 1) && differs(x - 1, y)) level += 1;
        }
        level = Math.max(0, Math.min(ramp.length - 1, level));
        put(y * n + x, ramp[level] as Rgb);
      }
    }
    if (outline) {
      for (let y = 0; y < n; y++) {
        for (let x = 0; x < n; x++) {
          if (this.get(x, y) !== EMPTY) continue;
          const touching = [
            this.get(x - 1, y),
            this.get(x + 1, y),
            this.get(x, y - 1),
            this.get(x, y + 1),
          ].find((m) => m !== EMPTY);
          if (touching === undefined) continue;
          put(y * n + x, outlineColour(spec, ramps[touching] as Rgb[]));
        }
      }
    }
    return { rgba, colours: [...used.values()] };
  }
}

function snap(spec: StyleSpec, c: Rgb): Rgb {
  return spec.master ? nearest(c, spec.master) : c;
}

function outlineColour(spec: StyleSpec, ramp: Rgb[]): Rgb {
  if (spec.outline === 'black') return [0, 0, 0];
  const darkest = ramp[0] as Rgb;
  if (spec.master)
    return nearest([darkest[0] * 0.3, darkest[1] * 0.3, darkest[2] * 0.3], spec.master);
  // a dark, slightly purple line of the material's hue reads softer than pure black
  return [
    Math.round(darkest[0] * 0.35 + 10),
    Math.round(darkest[1] * 0.3 + 4),
    Math.round(darkest[2] * 0.4 + 16),
  ];
}
