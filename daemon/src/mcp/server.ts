import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { LoggingLevel } from '@modelcontextprotocol/sdk/types.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { SpriteService } from '../service/index.js';
import { installClientLogging } from './logging.js';
import { installResources } from './resources.js';
import { cachedToolList } from './tool-list-cache.js';
import { installTools } from './tool-registry.js';

const INSTRUCTIONS =
  'dgx-pixels makes pixel-art sprites for a Bevy game. generate_sprite (one) or generate_batch (several) run on a GPU ' +
  'worker and post-process into clean pixel art; deploy_to_bevy (or generate_sprite with name + deploy: true) puts the ' +
  'PNG into the game assets and its manifest. Long jobs answer {status: "running", job_id} after wait_s; finish them ' +
  'with wait_job. list_styles shows styles, palettes and limits. Read sprites://manifest for what is deployed.';

export interface McpServerOptions {
  service: SpriteService;
  config: Config;
  logger: Logger;
}

/** Connection-level log level names (RFC 5424, as MCP uses them) for our pino levels. */
const MCP_LEVEL: Record<string, LoggingLevel> = {
  info: 'info',
  warn: 'warning',
  error: 'error',
  debug: 'debug',
};

/**
 * One MCP server for one connection (stdio, or one HTTP session); many may
 * share the one SpriteService. Tools, resources (+ subscribe), logging.
 */
export function createMcpServer(options: McpServerOptions): {
  server: McpServer;
  detach: () => void;
} {
  const { service, config, logger } = options;
  const server = new McpServer(
    {
      name: config.mcp_server.name,
      version: config.mcp_server.version,
      title: 'dgx-pixels sprite daemon',
    },
    { capabilities: { logging: {} }, instructions: INSTRUCTIONS },
  );
  const clientLog = installClientLogging(server);
  const tools = {
    cachedList: cachedToolList(config),
    // the tools' modules and zod schemas are loaded by the first call (or a live tools/list)
    load: async () => (await import('./tools/index.js')).allTools(config),
  };
  installTools(server.server, tools, {
    service,
    config,
    logger,
    onCall(info) {
      if (!config.logging.log_tool_calls) return;
      const level = info.isError ? 'warn' : 'info';
      const data = {
        tool: info.tool,
        duration_ms: Math.round(info.durationMs),
        is_error: info.isError,
        ...(info.text ? { error: info.text } : {}),
      };
      logger[level](data, 'tool call');
      clientLog(MCP_LEVEL[level] ?? 'info', data);
    },
  });
  const detach = installResources(server, service, logger);
  return { server, detach };
}
