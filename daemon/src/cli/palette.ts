import { writeFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { loadConfig } from '../config/load.js';
import { DaemonError, errorMessage } from '../errors.js';
import { type CliCommand, failFor, parseCommandArgs } from './command.js';

const USAGE = `Usage: dgx-pixels palette extract --assets DIR -o FILE [options]

Writes the game's own palette: the distinct opaque colours of every sprite listed in
DIR/asset_manifest.json (most used first; over 256 colours, clustered to 256 real
colours). The same palette \`--palette project\` and palette: "project" map onto.
The format follows the extension of FILE:
  .hex   one RRGGBB per line (Lospec, Aseprite)
  .gpl   GIMP palette (GIMP, Aseprite, Krita)

Options:
  -o, --output FILE     the palette file to write (.hex or .gpl)
      --assets DIR      the Bevy assets folder (else DGX_PIXELS_BEVY_ASSETS or
                        deployment.bevy_assets_base)
      --name NAME       palette name in a .gpl file (default: the file name)
      --config FILE     config file (default: the shipped config/mcp_config.yaml)`;

/**
 * The project palette of `--assets` (else the configured assets root): packed
 * colours and as `#rrggbb`. Shared by `palette extract` and `process --palette project`.
 */
export async function assetsPalette(values: {
  assets?: string | undefined;
  config?: string | undefined;
}): Promise<{ colours: number[]; hex: string[]; assetsRoot: string }> {
  const { config } = loadConfig({
    configPath: values.config,
    flags: values.assets
      ? { 'deployment.bevy_assets_base': ['--assets', resolve(values.assets)] }
      : {},
  });
  const base = config.deployment.bevy_assets_base;
  if (base === undefined) {
    throw new DaemonError(
      'VALIDATION',
      'palette "project" needs the Bevy assets folder: pass --assets DIR (or set DGX_PIXELS_BEVY_ASSETS / deployment.bevy_assets_base)',
    );
  }
  const assetsRoot = resolve(base);
  const { projectPalette, hexList } = await import('../service/project-palette.js');
  const colours = await projectPalette(config, assetsRoot);
  return { colours, hex: hexList(colours), assetsRoot };
}

const OPTIONS = {
  output: { type: 'string', short: 'o' },
  assets: { type: 'string' },
  name: { type: 'string' },
  config: { type: 'string' },
} as const;

async function run(argv: string[]): Promise<number> {
  const out = (s: string) => process.stdout.write(`${s}\n`); // stdout-ok: command output
  const fail = failFor('palette');
  const parsed = parseCommandArgs(argv, OPTIONS, USAGE, fail);
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  if (positionals[0] !== 'extract' || positionals.length > 1) {
    return fail(`the one subcommand is "extract".\n\n${USAGE}`, 2);
  }
  if (values.output === undefined) return fail(`need -o FILE (.hex or .gpl).\n\n${USAGE}`, 2);
  try {
    const { formatPalette, paletteFormatOf } = await import('../sprites/index.js');
    const format = paletteFormatOf(values.output); // before any work: a wrong extension fails fast
    const { colours, assetsRoot } = await assetsPalette(values);
    const name = values.name ?? basename(values.output).replace(/\.[^.]*$/, '');
    await writeFile(values.output, formatPalette(colours, format, name));
    out(`${colours.length} colours of the sprites in ${assetsRoot} → ${values.output} (${format})`);
    return 0;
  } catch (err) {
    return fail(errorMessage(err));
  }
}

export const command: CliCommand = {
  name: 'palette',
  summary: "write the game's own palette (colours of the deployed sprites) as .hex or .gpl",
  usage: USAGE,
  run,
};
