import type { Detected, ManifestGrid } from '../sprites/index.js';

/** What the service's pipeline produces and deploys; mcp/ and cli/ read these. */

/** Frame grid of a sheet or tileset, as the manifest records it. */
export type SheetGrid = ManifestGrid;

/** A post-processed sprite (or sheet / tileset). */
export interface ProcessedSprite {
  png: Buffer;
  width: number;
  height: number;
  /** Set for animation strips and tilesets. */
  sheet?: { kind: 'sheet' | 'tileset'; grid: SheetGrid; atlasJson: object } | undefined;
  /** What grid detection found (the first frame's for a sheet). */
  detected?: Detected | undefined;
  /** Colours in the output, most used first, `#rrggbb`. */
  palette?: string[] | undefined;
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

/** What rebuild_sprites answers (snake_case, as the tool's output schema says). */
export interface RebuildReport {
  recipe_path: string;
  assets_root: string;
  dry_run: boolean;
  rebuilt: string[];
  skipped: string[];
  failed: { name: string; error: string }[];
  generated: number;
  from_cache: number;
  reasons: Record<string, string>;
  kept: Record<string, string>;
}
