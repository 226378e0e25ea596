import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GenerateParams, JobOutcome } from './backend/types.js';
import type { Config } from './config/schema.js';
import type { Logger } from './log.js';
import type { GenerationRequest } from './service.js';
import type { ManifestGrid } from './sprites/index.js';

/**
 * The narrow interfaces SpriteService needs from backend/, sprites/ and assets/,
 * and the adapters onto the real modules. Each real module is imported lazily,
 * on first use, so `dgx-pixels serve` answers tools/list without loading zeromq,
 * sharp or chokidar (cold-start target).
 */

export type { GenerateParams, JobOutcome };

/** A worker's progress as the service consumes it. */
export interface ProgressUpdate {
  stage: string;
  step: number;
  totalSteps: number;
  /** 0..100 */
  percent: number;
  etaS: number;
}

export interface GenerationPort {
  submit(
    params: GenerateParams,
    opts: { signal?: AbortSignal; onProgress?: (u: ProgressUpdate) => void },
  ): Promise<{ jobId: string; done: Promise<JobOutcome> }>;
  cancel(jobId: string): Promise<unknown>;
  status(): Promise<unknown[]>;
  listModels(): Promise<unknown[]>;
  close(): Promise<void>;
}

/** Frame grid of a sheet or tileset, as the manifest records it. */
export type SheetGrid = ManifestGrid;

export interface ProcessedSpriteView {
  png: Buffer;
  width: number;
  height: number;
  /** Set for animation strips and tilesets. */
  sheet?: { kind: 'sheet' | 'tileset'; grid: SheetGrid; atlasJson: object } | undefined;
}

export interface SpritesPort {
  process(raw: Buffer, request: GenerationRequest): Promise<ProcessedSpriteView>;
  thumbnail(png: Buffer, caps: { maxSize: number; maxBytes: number }): Promise<Buffer | undefined>;
  listStyles(): Promise<unknown[]>;
  listPalettes(): Promise<unknown[]>;
}

export interface DeployInput {
  assetsRoot: string;
  name: string;
  png: Buffer;
  width: number;
  height: number;
  updateManifest: boolean;
  stateDir: string;
  request?: GenerationRequest | undefined;
  sheet?: ProcessedSpriteView['sheet'];
}

export interface DeployResult {
  deployedPath: string;
  relativePath: string;
  manifestUpdated: boolean;
  changed: boolean;
  revision: number | undefined;
  name: string;
  assetsRoot: string;
  manifestPath: string;
  entry: unknown;
}

export interface AssetsPort {
  /** The request's assets dir checked against the jail, else the configured root. */
  resolveRoot(requested: string | undefined, cwd: string): Promise<string>;
  deploy(input: DeployInput): Promise<DeployResult>;
  readManifest(assetsRoot: string): Promise<unknown>;
  rebuild(input: {
    recipePath?: string | undefined;
    assetsRoot: string;
    stateDir: string;
    dryRun: boolean;
    force: boolean;
  }): Promise<Record<string, unknown>>;
}

export interface CachePort {
  /** Raw output for `key` when younger than `ttlS` (0 = no expiry). */
  get(key: string, ttlS: number): Promise<Buffer | undefined>;
  put(key: string, png: Buffer): Promise<void>;
}

export interface ServicePorts {
  generation: () => Promise<GenerationPort>;
  sprites: () => Promise<SpritesPort>;
  assets: () => Promise<AssetsPort>;
  cache: CachePort;
  /** Release whatever the ports opened (worker sockets). */
  close: () => Promise<void>;
}

/** Memoise an async factory: the module loads once, on first call. */
function lazy<T>(factory: () => Promise<T>): {
  get: () => Promise<T>;
  loaded: () => T | undefined;
} {
  let promise: Promise<T> | undefined;
  let value: T | undefined;
  return {
    get: () => {
      promise ??= factory().then((v) => {
        value = v;
        return v;
      });
      return promise;
    },
    loaded: () => value,
  };
}

/** The ports onto the real backend/, sprites/ and assets/ modules. */
export function defaultPorts(config: Config, logger: Logger): ServicePorts {
  const generation = lazy(async () => {
    const { createGenerationPort } = await import('./service-adapters.js');
    return createGenerationPort(config, logger);
  });
  const sprites = lazy(async () => {
    const { createSpritesPort } = await import('./service-adapters.js');
    return createSpritesPort();
  });
  const assets = lazy(async () => {
    const { createAssetsPort } = await import('./service-adapters.js');
    return createAssetsPort(config);
  });
  return {
    generation: generation.get,
    sprites: sprites.get,
    assets: assets.get,
    cache: fileCache(join(config.state_dir, 'cache', 'raw')),
    close: async () => {
      await generation.loaded()?.close();
    },
  };
}

/** Content-addressed raw-output cache under the state dir (one PNG per key, age by mtime). */
export function fileCache(dir: string): CachePort {
  return {
    async get(key, ttlS) {
      const path = join(dir, `${key}.png`);
      try {
        const info = await stat(path);
        if (ttlS > 0 && Date.now() - info.mtimeMs > ttlS * 1000) return undefined;
        return await readFile(path);
      } catch {
        return undefined;
      }
    },
    async put(key, png) {
      await mkdir(dir, { recursive: true });
      const tmp = join(dir, `${key}.${process.pid}.tmp`);
      await writeFile(tmp, png);
      await rename(tmp, join(dir, `${key}.png`));
    },
  };
}
