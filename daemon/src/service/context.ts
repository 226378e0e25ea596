import type { EventEmitter } from 'node:events';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { ServicePorts } from '../service-ports.js';
import type { JobTable } from './job-table.js';

/** What the SpriteService's parts share: built once by the facade (service.ts). */
export interface ServiceContext {
  readonly config: Config;
  readonly logger: Logger;
  readonly ports: ServicePorts;
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
