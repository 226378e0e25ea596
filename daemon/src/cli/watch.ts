import { parseArgs } from 'node:util';
import { createProgressReporter } from '../assets/progress.js';
import { errorMessage } from '../errors.js';
import type { CliCommand } from './command.js';
import {
  createRebuildWiring,
  REBUILD_OPTIONS,
  resolveRebuildTarget,
  summarize,
} from './rebuild.js';

const USAGE = `Usage: dgx-pixels watch [options]

Runs "dgx-pixels rebuild" once, then again on every save of the recipe file (debounced).
A broken edit prints what is wrong and where; watching goes on. Stop with Ctrl-C.

Options:
      --recipes FILE    recipe file (default: sprites.yaml next to the assets folder)
      --assets DIR      the Bevy assets folder
      --concurrency N   jobs at once (default: number of workers, at least 2)
      --debounce-ms N   quiet time after a save before rebuilding (default 300)
      --poll            poll the file instead of OS events (network drives)
      --config FILE     config file`;

async function run(argv: string[]): Promise<number> {
  const err = (s: string) => process.stderr.write(`${s}\n`);
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(argv).values;
  } catch (e) {
    err(`dgx-pixels watch: ${errorMessage(e)}\n\n${USAGE}`);
    return 2;
  }
  const target = await resolveRebuildTarget(values).catch((e: unknown) => e as Error);
  if (target instanceof Error) {
    err(`dgx-pixels watch: ${target.message}`);
    return 1;
  }
  const [{ watchRecipes }, { rebuild }] = await Promise.all([
    import('../assets/watch.js'),
    import('../assets/rebuild.js'),
  ]);
  const wiring = await createRebuildWiring(target.config);
  const concurrency = values.concurrency ? Number(values.concurrency) : wiring.concurrency;
  const watcher = watchRecipes({
    recipePath: target.recipePath,
    debounceMs: values['debounce-ms'] ? Number(values['debounce-ms']) : 300,
    usePolling: values.poll ?? false,
    onRecipes: async (recipes) => {
      const reporter = createProgressReporter(process.stderr);
      const result = await rebuild({
        recipes,
        assetsRoot: target.assetsRoot,
        stateDir: target.stateDir,
        layout: target.layout,
        generate: wiring.generate,
        process: wiring.process,
        pipelineVersion: wiring.pipelineVersion,
        concurrency,
        onEvent: (e) => reporter.onEvent(e),
      });
      reporter.finish();
      err(
        `[${new Date().toLocaleTimeString()}] ${summarize(result)}; watching ${target.recipePath}`,
      );
      for (const f of result.failed) err(`  ${f.name}: ${f.error}`);
    },
    onError: (e) =>
      err(
        `[${new Date().toLocaleTimeString()}] ${errorMessage(e)}\n(still watching ${target.recipePath})`,
      ),
  });
  await watcher.ready;
  err(`watching ${target.recipePath} → ${target.assetsRoot}`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await watcher.close();
  await wiring.close();
  return 0;
}

function parse(argv: string[]) {
  const {
    only: _o,
    force: _f,
    regenerate: _r,
    'dry-run': _d,
    json: _j,
    ...shared
  } = REBUILD_OPTIONS;
  return parseArgs({
    args: argv,
    options: { ...shared, 'debounce-ms': { type: 'string' }, poll: { type: 'boolean' } },
  });
}

export const command: CliCommand = {
  name: 'watch',
  summary: 'rebuild sprites on every change of sprites.yaml (debounced; survives bad edits)',
  usage: USAGE,
  run,
};
