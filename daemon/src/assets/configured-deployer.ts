import { resolve } from 'node:path';
import type { Config } from '../config/schema.js';
import {
  DEFAULT_LAYOUT,
  type DeployLayout,
  type DeployRequest,
  type DeployResult,
  deploySprite,
} from './deploy.js';
import { readManifest } from './manifest.js';
import type { Manifest } from './manifest-schema.js';
import { resolveAssetsRoot } from './paths.js';

export interface DeployerOptions {
  /** `deployment.bevy_assets_base` (after env / --assets). */
  assetsBase?: string | undefined;
  allowedRoots?: readonly string[];
  layout?: Partial<DeployLayout>;
  stateDir?: string;
}

/**
 * Deploys with the project's configuration filled in: the MCP service and the
 * CLI build one from the loaded config and call `deploy` with what a request
 * carries. A request's `bevyAssetsDir` must lie inside the configured base or
 * `deployment.allowed_roots`.
 */
export class Deployer {
  readonly layout: DeployLayout;

  constructor(private readonly options: DeployerOptions) {
    this.layout = { ...DEFAULT_LAYOUT, ...options.layout };
  }

  /** A Deployer from the loaded config (`deployment.*`, `state_dir`). */
  static fromConfig(config: Config, cwd = process.cwd()): Deployer {
    const d = config.deployment;
    return new Deployer({
      assetsBase: d.bevy_assets_base,
      allowedRoots: d.allowed_roots,
      layout: {
        spriteSubdir: d.sprite_subdir,
        filenamePattern: d.filename_pattern,
        manifestFile: d.manifest_file,
      },
      stateDir: resolve(cwd, config.state_dir),
    });
  }

  /** The assets root for a request (its bevy_assets_dir, jailed) or the configured one. Throws PATH_*. */
  assetsRoot(bevyAssetsDir?: string): Promise<string> {
    return resolveAssetsRoot({
      configured: this.options.assetsBase,
      allowedRoots: this.options.allowedRoots ?? [],
      requested: bevyAssetsDir,
    });
  }

  /** deploySprite with this deployer's layout, state dir and assets root filled in. */
  async deploy(
    req: Omit<DeployRequest, 'assetsRoot' | 'layout' | 'stateDir'> & { bevyAssetsDir?: string },
  ): Promise<DeployResult> {
    const { bevyAssetsDir, ...rest } = req;
    return deploySprite({
      ...rest,
      assetsRoot: await this.assetsRoot(bevyAssetsDir),
      layout: this.layout,
      ...(this.options.stateDir ? { stateDir: this.options.stateDir } : {}),
    });
  }

  /** The manifest of an assets root (default: the configured one). */
  async manifest(bevyAssetsDir?: string): Promise<Manifest> {
    const root = await this.assetsRoot(bevyAssetsDir);
    return (await readManifest(resolve(root, this.layout.manifestFile), { assetsRoot: root }))
      .manifest;
  }
}
