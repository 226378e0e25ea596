import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createProgressReporter } from '../assets/progress.js';
import type { RebuildOptions, RebuildResult } from '../assets/rebuild.js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { DaemonError, errorMessage } from '../errors.js';
import { createLogger } from '../log.js';
import type { RebuildWiring as ServiceRebuildWiring } from '../service/rebuild-wiring.js';
import { type CliCommand, failFor } from './command.js';

const USAGE = `Usage: dgx-pixels rebuild [options]

Makes the Bevy assets match the recipe file (sprites.yaml): only sprites whose recipe or
the pipeline version changed are redone; raw GPU outputs are cached in the state dir, so
a palette or outline change is reprocessed without the GPU. Jobs run on all workers.

Options:
      --recipes FILE    recipe file (default: sprites.yaml next to the assets folder)
      --assets DIR      the Bevy assets folder (else DGX_PIXELS_BEVY_ASSETS or
                        deployment.bevy_assets_base)
      --only NAME       only this sprite (repeatable)
      --force           redo every selected sprite
      --regenerate      generate again (same seed) instead of using the raw cache
      --dry-run         list what would be redone and why
      --concurrency N   jobs at once (default: number of workers, at least 2)
      --config FILE     config file
      --json            print the result as JSON`;

export const REBUILD_OPTIONS = {
  recipes: { type: 'string' },
  assets: { type: 'string' },
  only: { type: 'string', multiple: true },
  force: { type: 'boolean' },
  regenerate: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  concurrency: { type: 'string' },
  config: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** The GPU and pipeline a rebuild needs, plus how to release them. */
export interface RebuildWiring extends ServiceRebuildWiring {
  close(): Promise<void>;
}

/**
 * This CLI process's one worker pool (journalled under state_dir) and sprite pool
 * (performance.postprocess_threads) wired into rebuild by the service's wiring
 * (service/rebuild-wiring.ts), as the MCP daemon does with its own. Both CLI
 * rebuild and watch use it.
 */
export async function createRebuildWiring(config: Config): Promise<RebuildWiring> {
  const [{ openWorkerPool }, { createRebuildWiring: wire }, { IN_THREAD, SpritePool }] =
    await Promise.all([
      import('../service/generation-backend.js'),
      import('../service/rebuild-wiring.js'),
      import('../sprites/index.js'),
    ]);
  const logger = createLogger(config.logging.level === 'warning' ? 'warn' : config.logging.level);
  const pool = await openWorkerPool(config, logger);
  const threads = config.performance.postprocess_threads;
  const sprites = threads === 0 ? undefined : new SpritePool({ threads });
  return {
    ...(await wire(config, pool, sprites ?? IN_THREAD)),
    close: async () => {
      await pool.close();
      await sprites?.close();
    },
  };
}

/** Config, assets root and recipe path from rebuild/watch flags. */
export async function resolveRebuildTarget(values: {
  config?: string;
  assets?: string;
  recipes?: string;
}) {
  const { config } = loadConfig({
    configPath: values.config,
    flags: values.assets
      ? { 'deployment.bevy_assets_base': ['--assets', resolve(values.assets)] }
      : {},
  });
  const { resolveAssetsRoot } = await import('../assets/paths.js');
  const assetsRoot = await resolveAssetsRoot({ configured: config.deployment.bevy_assets_base });
  const recipePath = resolve(values.recipes ?? resolve(dirname(assetsRoot), 'sprites.yaml'));
  const { Deployer } = await import('../assets/configured-deployer.js');
  const layout = Deployer.fromConfig(config).layout; // the one deploy-layout wiring
  return { config, assetsRoot, recipePath, layout, stateDir: resolve(config.state_dir) };
}

/**
 * A whole rebuild from config: recipes loaded from `recipePath` (default
 * sprites.yaml beside the assets root), real workers and pipeline. For the
 * scripts and anything else that is not the CLI command itself.
 */
export async function runRebuild(input: {
  config: Config;
  assetsRoot: string;
  stateDir: string;
  recipePath?: string | undefined;
  dryRun?: boolean;
  force?: boolean;
  regenerate?: boolean;
  only?: string[];
  onEvent?: RebuildOptions['onEvent'];
}): Promise<RebuildResult> {
  const [{ loadRecipes }, { rebuild }, { PIPELINE_VERSION }, { Deployer }] = await Promise.all([
    import('../assets/recipes.js'),
    import('../assets/rebuild.js'),
    import('../sprites/settings.js'),
    import('../assets/configured-deployer.js'),
  ]);
  const recipes = await loadRecipes(
    resolve(input.recipePath ?? resolve(dirname(input.assetsRoot), 'sprites.yaml')),
  );
  const wiring = input.dryRun ? undefined : await createRebuildWiring(input.config);
  const noGpu = async (): Promise<never> => {
    throw new DaemonError('NOT_READY', 'dry run does not generate');
  };
  try {
    return await rebuild({
      recipes,
      assetsRoot: input.assetsRoot,
      stateDir: input.stateDir,
      layout: Deployer.fromConfig(input.config).layout,
      generate: wiring?.generate ?? noGpu,
      process: wiring?.process ?? noGpu,
      pipelineVersion: wiring?.pipelineVersion ?? PIPELINE_VERSION,
      concurrency: wiring?.concurrency ?? 2,
      force: input.force ?? false,
      regenerate: input.regenerate ?? false,
      dryRun: input.dryRun ?? false,
      ...(input.only ? { only: input.only } : {}),
      ...(input.onEvent ? { onEvent: input.onEvent } : {}),
    });
  } finally {
    await wiring?.close();
  }
}

/** One-line summary of a rebuild for people. */
export function summarize(r: RebuildResult): string {
  const verb = r.dryRun ? 'would rebuild' : 'rebuilt';
  const n = r.dryRun ? Object.keys(r.reasons).length : r.rebuilt.length;
  return (
    `${verb} ${n}, up to date ${r.skipped.length - Object.keys(r.kept).length}, ` +
    `kept (edited) ${Object.keys(r.kept).length}, failed ${r.failed.length}` +
    (r.dryRun ? '' : ` (GPU jobs ${r.generated}, from raw cache ${r.fromCache})`)
  );
}

async function run(argv: string[]): Promise<number> {
  const out = (s: string) => process.stdout.write(`${s}\n`); // stdout-ok: command output
  const fail = failFor('rebuild');
  let values: ReturnType<typeof parseArgs<{ options: typeof REBUILD_OPTIONS }>>['values'];
  try {
    values = parseArgs({ args: argv, options: REBUILD_OPTIONS }).values;
  } catch (err) {
    return fail(`${errorMessage(err)}\n\n${USAGE}`, 2);
  }
  let wiring: RebuildWiring | undefined;
  try {
    const target = await resolveRebuildTarget(values);
    const [{ loadRecipes }, { rebuild }] = await Promise.all([
      import('../assets/recipes.js'),
      import('../assets/rebuild.js'),
    ]);
    const recipes = await loadRecipes(target.recipePath);
    const dryRun = values['dry-run'] ?? false;
    wiring = dryRun ? undefined : await createRebuildWiring(target.config);
    const reporter = createProgressReporter(process.stderr);
    const concurrency = values.concurrency
      ? Number(values.concurrency)
      : (wiring?.concurrency ?? 2);
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      return fail(`--concurrency must be a positive integer; got "${values.concurrency}"`, 2);
    }
    const noGpu = async () => {
      throw new DaemonError('NOT_READY', 'dry run does not generate');
    };
    const result = await rebuild({
      recipes,
      assetsRoot: target.assetsRoot,
      stateDir: target.stateDir,
      layout: target.layout,
      generate: wiring?.generate ?? noGpu,
      process: wiring?.process ?? noGpu,
      pipelineVersion:
        wiring?.pipelineVersion ?? (await import('../sprites/settings.js')).PIPELINE_VERSION,
      concurrency,
      force: values.force ?? false,
      regenerate: values.regenerate ?? false,
      dryRun,
      ...(values.only ? { only: values.only } : {}),
      onEvent: (e) => reporter.onEvent(e),
    });
    reporter.finish();
    out(values.json ? JSON.stringify(result, null, 2) : summarize(result));
    for (const f of result.failed) process.stderr.write(`  ${f.name}: ${f.error}\n`);
    return result.failed.length > 0 ? 1 : 0;
  } catch (err) {
    return fail(errorMessage(err));
  } finally {
    await wiring?.close();
  }
}

export const command: CliCommand = {
  name: 'rebuild',
  summary: 'make the Bevy assets match sprites.yaml, redoing only what changed',
  usage: USAGE,
  run,
};
