import { mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const CACHE = new URL('../../../node_modules/.cache/dgx-pixels-test/', import.meta.url).pathname;

/**
 * Bundle a TypeScript entry into one CommonJS file so child processes start
 * in tens of milliseconds (tsx would compile on every spawn). npm packages
 * stay external and load from node_modules (so zod, needed only to explain a
 * bad manifest, is never loaded on the happy path). Returns the file's path.
 */
export async function bundleChild(entry: string): Promise<string> {
  mkdirSync(CACHE, { recursive: true });
  const outfile = join(mkdtempSync(CACHE), 'child.cjs');
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    logLevel: 'silent',
  });
  return outfile;
}
