import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Deployer } from '../assets/configured-deployer.js';
import { loadConfig } from '../config/load.js';
import { DaemonError, errorMessage } from '../errors.js';
import { type CliCommand, failFor, parseCommandArgs } from './command.js';

const USAGE = `Usage: dgx-pixels deploy <sprite.png> --name NAME [options]

Copies any PNG into the Bevy project's assets (deployment.sprite_subdir, filename_pattern)
and records it in asset_manifest.json: atomic writes, cross-process lock, same bytes → no
rewrite, new bytes → revision + 1. Same code path as the MCP tool deploy_to_bevy.

Options:
      --name NAME       sprite name (letters, digits, _ . -; "enemies/slime" for a subfolder)
      --assets DIR      the Bevy assets folder (else DGX_PIXELS_BEVY_ASSETS or
                        deployment.bevy_assets_base)
      --dry-run         tell what would change, write nothing
      --no-manifest     write the PNG only
      --repair          if the manifest is broken, back it up and rebuild it from its valid entries
      --config FILE     config file (default: the shipped config/mcp_config.yaml)
      --json            print the result as JSON`;

const OPTIONS = {
  name: { type: 'string' },
  assets: { type: 'string' },
  'dry-run': { type: 'boolean' },
  'no-manifest': { type: 'boolean' },
  repair: { type: 'boolean' },
  config: { type: 'string' },
  json: { type: 'boolean' },
} as const;

async function run(argv: string[]): Promise<number> {
  const out = (s: string) => process.stdout.write(`${s}\n`); // stdout-ok: command output
  const fail = failFor('deploy');
  const parsed = parseCommandArgs(argv, OPTIONS, USAGE, fail);
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  const file = positionals[0];
  if (file === undefined || values.name === undefined) {
    return fail(`need a PNG file and --name NAME.\n\n${USAGE}`, 2);
  }
  try {
    const { config } = loadConfig({
      configPath: values.config,
      flags: values.assets
        ? { 'deployment.bevy_assets_base': ['--assets', resolve(values.assets)] }
        : {},
    });
    const png = await readFile(file).catch((err: unknown) => {
      throw new DaemonError(
        'VALIDATION',
        `cannot read ${file}: ${errorMessage(err)}; pass an existing PNG file`,
        {
          cause: err,
        },
      );
    });
    const result = await Deployer.fromConfig(config).deploy({
      name: values.name,
      png,
      dryRun: values['dry-run'] ?? false,
      updateManifest: !values['no-manifest'],
      repair: values.repair ?? false,
    });
    if (values.json) {
      out(JSON.stringify(result, null, 2));
    } else {
      const what = result.dryRun ? 'would deploy' : result.changed ? 'deployed' : 'unchanged';
      out(
        `${what} ${result.entry.name} → ${result.deployedPath} (revision ${result.revision}, ` +
          `${result.entry.width}x${result.entry.height}, manifest ${result.manifestUpdated ? 'updated' : 'unchanged'})`,
      );
    }
    return 0;
  } catch (err) {
    return fail(errorMessage(err));
  }
}

export const command: CliCommand = {
  name: 'deploy',
  summary: 'deploy a PNG into the Bevy assets folder and asset_manifest.json (atomic, locked)',
  usage: USAGE,
  run,
};
