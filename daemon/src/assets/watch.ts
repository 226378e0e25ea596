import { watch } from 'chokidar';
import { errorMessage } from '../errors.js';
import { loadRecipes, type ResolvedRecipe } from './recipes.js';

/**
 * `dgx-pixels watch`: run `onRecipes` after every change of the recipe file,
 * debounced. A bad edit (YAML syntax, schema) is reported through `onError`
 * and watching goes on; the next good save runs again. Runs never overlap: a
 * change during a run schedules exactly one more run after it.
 */

export interface WatchRecipesOptions {
  recipePath: string;
  onRecipes: (recipes: ResolvedRecipe[]) => Promise<void>;
  onError: (err: unknown) => void;
  /** Quiet time after the last change before running (default 300 ms). */
  debounceMs?: number;
  /** Run once at start (default true). */
  initialRun?: boolean;
  /** Use polling (network filesystems, tests on slow machines). */
  usePolling?: boolean;
}

export interface RecipeWatcher {
  /** Resolves once the file watcher is ready. */
  ready: Promise<void>;
  close(): Promise<void>;
}

/** Start watching. Errors of one run never stop the watcher. */
export function watchRecipes(options: WatchRecipesOptions): RecipeWatcher {
  const debounceMs = options.debounceMs ?? 300;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let again = false;
  let closed = false;

  const runOnce = async (): Promise<void> => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        try {
          await options.onRecipes(await loadRecipes(options.recipePath));
        } catch (err) {
          options.onError(err);
        }
      } while (again && !closed);
    } finally {
      running = false;
    }
  };
  const schedule = () => {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      void runOnce();
    }, debounceMs);
  };

  // Editors save by rename; chokidar's atomic handling folds that into one 'change'.
  const watcher = watch(options.recipePath, {
    ignoreInitial: true,
    awaitWriteFinish: false,
    ...(options.usePolling ? { usePolling: true, interval: 50 } : {}),
  });
  watcher.on('add', schedule).on('change', schedule);
  watcher.on('error', (err) =>
    options.onError(new Error(`watching ${options.recipePath} failed: ${errorMessage(err)}`)),
  );
  const ready = new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  if (options.initialRun ?? true) void ready.then(runOnce);
  return {
    ready,
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await watcher.close();
    },
  };
}
