import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  type LoggingLevel,
  LoggingLevelSchema,
  SetLevelRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';

const SEVERITY = new Map<LoggingLevel, number>(LoggingLevelSchema.options.map((l, i) => [l, i]));

/**
 * MCP log notifications (`notifications/message`) for one connection. They go
 * out only after the client asked with `logging/setLevel`, and at or above that
 * level: a client that never asked gets no extra traffic on every tool call
 * (stderr keeps the full log either way).
 */
export function installClientLogging(
  server: McpServer,
): (level: LoggingLevel, data: unknown) => void {
  let threshold: number | undefined;
  server.server.setRequestHandler(SetLevelRequestSchema, (request) => {
    threshold = SEVERITY.get(request.params.level);
    return {};
  });
  return (level, data) => {
    if (threshold === undefined || (SEVERITY.get(level) ?? 0) < threshold || !server.isConnected())
      return;
    server.server.sendLoggingMessage({ level, logger: 'dgx-pixels', data }).catch(() => undefined);
  };
}
