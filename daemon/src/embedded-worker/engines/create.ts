import { resolve } from 'node:path';
import { PACKAGE_ROOT } from '../../config/load.js';
import type { Logger } from '../../log.js';
import type { Engine } from '../engine.js';
import { createProceduralEngine } from './procedural/index.js';

export type EngineName = 'procedural' | 'comfyui';

export interface EngineSettings {
  stepMs: number;
  writeGroundTruth: boolean;
  comfyuiUrl?: string;
  workflowDir?: string;
  workflow?: string;
  logger: Logger;
}

/** Build an engine by name; the ComfyUI one is loaded only when asked for (it checks the server at start). */
export async function createEngine(name: EngineName, settings: EngineSettings): Promise<Engine> {
  if (name === 'procedural') {
    return createProceduralEngine({
      stepMs: settings.stepMs,
      writeGroundTruth: settings.writeGroundTruth,
    });
  }
  const { createComfyEngine } = await import('./comfyui/index.js');
  return createComfyEngine({
    url: settings.comfyuiUrl ?? 'http://127.0.0.1:8188',
    workflowDir: settings.workflowDir ?? resolve(PACKAGE_ROOT, 'config/workflows'),
    workflow: settings.workflow ?? 'sprite_optimized.json',
    logger: settings.logger,
  });
}
