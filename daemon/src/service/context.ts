import type { EventEmitter } from 'node:events';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { SpriteProcessor } from '../sprites/processor.js';
import type { GenerationBackend } from './generation-backend.js';
import type { JobTable } from './job-table.js';
import type { RawOutputCache } from './raw-output-cache.js';

/** What the SpriteService's parts share: built once by the facade (service/index.ts). */
export interface ServiceContext {
  readonly config: Config;
  readonly logger: Logger;
  /** The process's one worker pool (loaded on first use). */
  readonly generation: () => Promise<GenerationBackend>;
  /** The process's one post-processing pool (threads start on first use). */
  readonly sprites: () => Promise<SpriteProcessor>;
  readonly cache: RawOutputCache;
  /** Base for relative paths. */
  readonly cwd: string;
  /** Absolute state directory. */
  readonly stateDir: string;
  /** deployment.bevy_assets_base, absolute, or undefined when not configured. */
  readonly defaultAssetsRoot: string | undefined;
  readonly jobs: JobTable;
  /** Emits 'deployed' (DeployResult) for resources/updated notifications. */
  readonly events: EventEmitter;
}
