import type { Config } from '../../config/schema.js';
import type { ToolDef } from '../tool-registry.js';
import { deployToBevyTool } from './deploy-to-bevy.js';
import { editSpriteTool } from './edit-sprite.js';
import { generateBatchTool } from './generate-batch.js';
import { generateCharacterTool } from './generate-character.js';
import { generateSpriteTool } from './generate-sprite.js';
import { getStatusTool, listModelsTool, listStylesTool, rebuildSpritesTool } from './info-tools.js';
import { cancelJobTool, getJobTool, listJobsTool, waitJobTool } from './job-tools.js';
import { processSpriteTool } from './process-sprite.js';

const cache = new WeakMap<Config, readonly ToolDef[]>();

/** Every tool, built once per config (schemas carry the config's limits). */
export function allTools(config: Config): readonly ToolDef[] {
  let tools = cache.get(config);
  if (tools === undefined) {
    tools = [
      generateSpriteTool(config),
      generateBatchTool(config),
      generateCharacterTool(config),
      editSpriteTool(config),
      deployToBevyTool(config),
      getJobTool(config),
      waitJobTool(config),
      cancelJobTool(config),
      listJobsTool(config),
      listModelsTool(config),
      getStatusTool(config),
      listStylesTool(config),
      rebuildSpritesTool(config),
      processSpriteTool(config),
    ];
    cache.set(config, tools);
  }
  return tools;
}
