import type { ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';

/**
 * MCP hints of a tool that only reads (get_job, list_models …): it changes
 * nothing, so calling it again is harmless. `openWorld`: it asks the GPU
 * workers (true) rather than only this daemon's own state (false).
 */
export function readOnlyHints(openWorld: boolean): ToolAnnotations {
  return {
    readOnlyHint: true,
    destructiveHint: false,
    idempotentHint: true,
    openWorldHint: openWorld,
  };
}
