import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { DaemonError, errorMessage } from '../errors.js';
import type { CliCommand } from './command.js';

const USAGE = `Usage: dgx-pixels process <input> -o <output.png> [options]

Turns an upscaled "pixel-art picture" (SDXL output, any PNG/JPEG/WebP) into a true
1:1 pixel-art sprite: grid detection, majority downscale, background removal,
palette, cleanup. Prints what it detected.

Options:
  -o, --output FILE     output PNG (required)
      --size WxH        force the logical size instead of detecting it (e.g. 64x64)
      --style NAME      preset from config/styles.yaml (pixel_art, 16bit, 8bit, retro, game_sprite)
      --palette P       auto | shipped name (pico-8, nes, gameboy, db16, db32, endesga-32)
                        | "#rrggbb,#rrggbb,…" | a .hex or palette image file
                        | project: the colours of the sprites deployed in --assets DIR
      --assets DIR      the Bevy assets folder of --palette project (else
                        DGX_PIXELS_BEVY_ASSETS or deployment.bevy_assets_base)
      --config FILE     config file (default: the shipped config/mcp_config.yaml)
      --colors N        most colours kept (1..256)
      --dither          ordered (Bayer 4×4) dithering when mapping colours (off by default)
      --no-bg-removal   keep the background
      --outline COLOR   add a 1-px outline: #rrggbb or auto (darkest palette colour)
      --inner-outline   draw the outline on the sprite's own edge instead of outside
      --trim            crop to the sprite
      --canvas WxH      pad (or crop) onto a transparent canvas
      --pivot P         where the sprite sits on the canvas (center, bottom, top-left, …)
      --frames N        the input is N animation frames side by side → spritesheet + .json
      --tiles CxR       the input is a C×R tile grid → tileset + .json
      --json            print the full result as JSON instead of the summary`;

function parseSize(flag: string, value: string): [number, number] {
  const m = /^(\d+)x(\d+)$/i.exec(value);
  if (!m) {
    throw new DaemonError(
      'VALIDATION',
      `${flag} must be WxH with positive integers, e.g. 64x64; got "${value}".`,
    );
  }
  return [Number(m[1]), Number(m[2])];
}

function parseCount(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new DaemonError('VALIDATION', `${flag} must be a positive integer; got "${value}".`);
  }
  return n;
}

async function run(argv: string[]): Promise<number> {
  const out = (s: string) => process.stdout.write(`${s}\n`); // stdout-ok: command output
  const fail = (s: string) => {
    process.stderr.write(`dgx-pixels process: ${s}\n`);
    return 2;
  };
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    return fail(`${errorMessage(err)}\n\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  const input = positionals[0];
  if (!input || !values.output) return fail(`need an input file and -o <output.png>.\n\n${USAGE}`);
  try {
    const { processSprite, processSheet } = await import('../sprites/index.js');
    const options: Parameters<typeof processSprite>[1] & Record<string, unknown> = {};
    if (values.style) options.style = values.style;
    if (values.size) options.logicalSize = parseSize('--size', values.size);
    if (values.palette === 'project') {
      const { assetsPalette } = await import('./palette.js');
      options.palette = (await assetsPalette(values)).hex;
    } else if (values.palette) options.palette = values.palette;
    if (values.colors) options.colours = parseCount('--colors', values.colors);
    if (values.dither) options.dither = 'ordered';
    if (values['no-bg-removal']) options.background = 'none';
    if (values.outline) options.outline = values.outline;
    if (values['inner-outline']) options.outlineMode = 'inner';
    if (values.trim) options.trim = true;
    if (values.canvas) options.canvas = parseSize('--canvas', values.canvas);
    if (values.pivot) options.pivot = values.pivot as 'center';
    const bytes = await readFile(input).catch((err: unknown) => {
      throw new DaemonError('VALIDATION', `Cannot read input ${input}: ${errorMessage(err)}.`, {
        cause: err,
      });
    });
    if (values.frames || values.tiles) {
      const layout = values.frames
        ? { frames: parseCount('--frames', values.frames) }
        : { grid: parseSize('--tiles', values.tiles as string) };
      const name = values.output.replace(/^.*[\\/]/, '').replace(/\.png$/i, '');
      const sheet = await processSheet(bytes, layout, {
        ...options,
        name,
        imageName: `${name}.png`,
      });
      const jsonPath = `${values.output.replace(/\.png$/i, '')}.json`;
      await writeFile(values.output, sheet.png);
      await writeFile(jsonPath, `${JSON.stringify(sheet.json, null, 2)}\n`);
      const { png: _png, ...rest } = sheet;
      if (values.json) out(JSON.stringify({ output: values.output, jsonPath, ...rest }, null, 2));
      else {
        const d = sheet.detected;
        out(
          `${sheet.kind}: ${sheet.grid.columns}×${sheet.grid.rows} frames of ${sheet.grid.frameWidth}×${sheet.grid.frameHeight} px → ${values.output} (${sheet.width}×${sheet.height}) + ${jsonPath}`,
        );
        out(
          `grid: cell ${d.cellSize[0].toFixed(2)}×${d.cellSize[1].toFixed(2)} px, logical ${d.logicalSize[0]}×${d.logicalSize[1]}, min confidence ${d.confidence.toFixed(2)}`,
        );
        out(
          `palette: ${sheet.paletteSize} colours; padding ${sheet.grid.padding}, offset ${sheet.grid.offset}`,
        );
      }
      return 0;
    }
    const result = await processSprite(bytes, options);
    await writeFile(values.output, result.png);
    const { png: _png, ...rest } = result;
    if (values.json) {
      out(JSON.stringify({ output: values.output, ...rest }, null, 2));
      return 0;
    }
    const d = result.detected;
    out(`${input} → ${values.output}: ${result.width}×${result.height}`);
    out(
      `grid: cell ${d.cellSize[0].toFixed(2)}×${d.cellSize[1].toFixed(2)} px, phase ${d.phase[0].toFixed(2)},${d.phase[1].toFixed(2)}, confidence ${d.confidence.toFixed(2)} (${d.source}), logical ${d.logicalSize[0]}×${d.logicalSize[1]}`,
    );
    out(
      `background: ${d.background ?? 'kept'}; palette: ${result.paletteSize} colours (${paletteLabel(values.palette, result.settings.palette)})`,
    );
    if (d.confidence < 0.3)
      out('warning: low grid confidence; try --size WxH if the size looks wrong');
    return 0;
  } catch (err) {
    if (err instanceof DaemonError) return fail(err.message);
    throw err;
  }
}

/** How the summary names the palette (a project palette by name, not by its colours). */
function paletteLabel(flag: string | undefined, palette: string | string[]): string {
  if (flag === 'project') return `project, ${Array.isArray(palette) ? palette.length : 0} colours`;
  return palette === 'auto' ? 'auto' : String(palette);
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      output: { type: 'string', short: 'o' },
      size: { type: 'string' },
      style: { type: 'string' },
      palette: { type: 'string' },
      colors: { type: 'string' },
      dither: { type: 'boolean' },
      'no-bg-removal': { type: 'boolean' },
      outline: { type: 'string' },
      'inner-outline': { type: 'boolean' },
      trim: { type: 'boolean' },
      canvas: { type: 'string' },
      pivot: { type: 'string' },
      frames: { type: 'string' },
      tiles: { type: 'string' },
      assets: { type: 'string' },
      config: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
}

export const command: CliCommand = {
  name: 'process',
  summary: 'post-process an image into a pixel-art sprite (grid, palette, background, sheets)',
  usage: USAGE,
  run,
};
