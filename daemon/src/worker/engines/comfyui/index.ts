import type { Logger } from '../../../log.js';
import type { Engine } from '../../engine.js';

export interface ComfyEngineOptions {
  url: string;
  workflowDir: string;
  workflow: string;
  logger: Logger;
}

export async function createComfyEngine(_options: ComfyEngineOptions): Promise<Engine> {
  throw new Error('comfyui engine: not built yet');
}
