import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DaemonError, errorMessage } from '../errors.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** True when `bytes` starts with the 8-byte PNG signature. */
export function isPng(bytes: Uint8Array): boolean {
  return (
    bytes.length >= PNG_SIGNATURE.length && PNG_SIGNATURE.equals(Buffer.from(bytes.subarray(0, 8)))
  );
}

/**
 * Rewrite a worker-side path to a local one with `backend.path_map`
 * (worker prefix → local prefix). The longest matching prefix wins; a prefix
 * only matches whole path segments. Unmapped paths are returned unchanged
 * (the daemon may share the worker's filesystem).
 */
export function mapWorkerPath(
  workerPath: string,
  pathMap: Readonly<Record<string, string>>,
): string {
  let best: [string, string] | undefined;
  for (const [from, to] of Object.entries(pathMap)) {
    const prefix = from.endsWith('/') ? from.slice(0, -1) : from;
    const hit = workerPath === prefix || workerPath.startsWith(`${prefix}/`);
    if (hit && (best === undefined || prefix.length > best[0].length))
      best = [prefix, to.endsWith('/') ? to.slice(0, -1) : to];
  }
  return best === undefined ? workerPath : best[1] + workerPath.slice(best[0].length);
}

/**
 * Find `<jobId>_*.png` (the Python worker's result name, PROTOCOL.md 16) in
 * any of `dirs`; the newest name wins. Unreadable dirs are skipped.
 */
export async function findResultFile(
  jobId: string,
  dirs: Iterable<string>,
): Promise<string | undefined> {
  let found: string | undefined;
  for (const dir of dirs) {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      continue;
    }
    const hits = names.filter((n) => n.startsWith(`${jobId}_`) && n.endsWith('.png')).sort();
    const last = hits.at(-1);
    if (last !== undefined) found = join(dir, last);
  }
  return found;
}

export interface FetchImageOptions {
  pathMap?: Readonly<Record<string, string>>;
  /** backend.comfyui_url; the /view fallback is skipped when unset. */
  comfyuiUrl?: string | undefined;
  /** Time-out of the HTTP fallback, ms (default 10000). */
  httpTimeoutMs?: number;
}

/** Where the bytes came from, for logs and tests. */
export type ImageRoute = 'inline' | 'file' | 'comfyui';

/**
 * Get a completed job's PNG bytes, in order (DESIGN.md "Getting the image back"):
 * inline `image` → `imagePath` after path_map rewriting, if readable → HTTP GET
 * `<comfyuiUrl>/view?filename=<basename>&type=output`. Each candidate must carry
 * the PNG signature. Throws DaemonError('IMAGE_UNAVAILABLE') listing what was
 * tried when no route gives a PNG: success is never reported without bytes.
 */
export async function fetchResultImage(
  result: { imagePath: string; image?: Uint8Array | undefined },
  options: FetchImageOptions = {},
): Promise<{ bytes: Buffer; route: ImageRoute }> {
  const tried: string[] = [];
  if (result.image !== undefined) {
    if (isPng(result.image)) return { bytes: Buffer.from(result.image), route: 'inline' };
    tried.push(`inline image (${result.image.length} bytes) is not a PNG`);
  }
  const local = mapWorkerPath(result.imagePath, options.pathMap ?? {});
  try {
    const bytes = await readFile(local);
    if (isPng(bytes)) return { bytes, route: 'file' };
    tried.push(`${local} is not a PNG`);
  } catch (err) {
    tried.push(`${local}: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`);
  }
  if (options.comfyuiUrl !== undefined) {
    const name = result.imagePath.split(/[\\/]/).at(-1) ?? result.imagePath;
    const url = new URL(
      'view',
      options.comfyuiUrl.endsWith('/') ? options.comfyuiUrl : `${options.comfyuiUrl}/`,
    );
    url.searchParams.set('filename', name);
    url.searchParams.set('type', 'output');
    try {
      const res = await fetch(url, {
        signal: AbortSignal.timeout(options.httpTimeoutMs ?? 10_000),
      });
      const bytes = Buffer.from(await res.arrayBuffer());
      if (res.ok && isPng(bytes)) return { bytes, route: 'comfyui' };
      tried.push(`GET ${url.href}: ${res.ok ? 'not a PNG' : `HTTP ${res.status}`}`);
    } catch (err) {
      tried.push(`GET ${url.href}: ${errorMessage(err)}`);
    }
  } else {
    tried.push('backend.comfyui_url is not set (no /view fallback)');
  }
  throw new DaemonError(
    'IMAGE_UNAVAILABLE',
    `could not get the image of the finished job (worker path ${result.imagePath}); tried: ${tried.join('; ')}. ` +
      'Enable backend.return_image, map the worker output dir with backend.path_map, or set backend.comfyui_url',
  );
}
