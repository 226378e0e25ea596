import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  type ContentBlock,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  type ServerNotification,
  type ServerRequest,
  type Tool,
  type ToolAnnotations,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { Config } from '../config/schema.js';
import { DaemonError } from '../errors.js';
import type { Logger } from '../log.js';
import type { SpriteService } from '../service/index.js';
import { toolError, validationMessage } from './tool-errors.js';

/**
 * A thin tool registry on the SDK's low-level Server. McpServer.registerTool
 * would prefix every argument error with "Input validation error: Invalid
 * arguments for tool …" and list raw zod issues; the seed's callers expect
 * "Validation error in prompt: …" as the whole first sentence, so this
 * registry validates itself. Everything else follows McpServer: zod → JSON
 * Schema (draft-07) for inputSchema/outputSchema, structuredContent checked
 * against outputSchema, the same JSON as a text block, failures as isError.
 */

export type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

export interface ToolContext {
  service: SpriteService;
  config: Config;
  extra: Extra;
  logger: Logger;
}

export interface ToolOutput<O> {
  structured: O;
  /** Content after the JSON text block (resource_link, thumbnail image). */
  content?: ContentBlock[];
  /** A result that is a failure but still carries structured fields (batch with 0 successes). */
  isError?: boolean;
  /** Text of the first block when isError; default the JSON. */
  errorText?: string;
}

export interface ToolDef<I extends z.ZodObject = z.ZodObject, O extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  description: string;
  input: I;
  output: O;
  annotations: ToolAnnotations;
  /** First words of an unexpected failure's text (the seed's "Generation failed" by default). */
  failurePrefix?: string;
  /** Fields of a failure's structuredContent (besides status and error), e.g. {job_id: null}. */
  errorShape?: Record<string, unknown>;
  run(args: z.output<I>, ctx: ToolContext): Promise<ToolOutput<z.output<O>>>;
}

/** Keeps each tool's types while collecting them in one list. */
export function defineTool<I extends z.ZodObject, O extends z.ZodObject>(
  def: ToolDef<I, O>,
): ToolDef {
  return def as unknown as ToolDef;
}

/** The tools/list entries of `tools`: zod → JSON Schema (draft-07), as McpServer does. */
export function toolListJson(tools: readonly ToolDef[]): Tool[] {
  return tools.map((t) => ({
    name: t.name,
    title: t.title,
    description: t.description,
    inputSchema: z.toJSONSchema(t.input, { io: 'input', target: 'draft-7' }) as Tool['inputSchema'],
    outputSchema: z.toJSONSchema(t.output, {
      io: 'output',
      target: 'draft-7',
    }) as Tool['outputSchema'],
    annotations: { title: t.title, ...t.annotations },
  }));
}

const listCache = new WeakMap<readonly ToolDef[], Tool[]>();

function toolList(tools: readonly ToolDef[]): Tool[] {
  let list = listCache.get(tools);
  if (list === undefined) {
    list = toolListJson(tools);
    listCache.set(tools, list);
  }
  return list;
}

/**
 * Where installTools gets its tools. They are built on first use: a client's first tools/list
 * is answered from `cachedList` (the build's snapshot, tool-list-cache.ts) when it applies, so
 * start-up builds no tool schema.
 */
export interface ToolSource {
  /** The tools/list entries when known without building the tools; else converted live. */
  cachedList?: Tool[] | undefined;
  load(): Promise<readonly ToolDef[]>;
}

/** Result carrying `structured` as structuredContent and as JSON text. */
export function toolResult(
  structured: Record<string, unknown>,
  more: ContentBlock[] = [],
): CallToolResult {
  return {
    content: [{ type: 'text', text: JSON.stringify(structured) }, ...more],
    structuredContent: structured,
  };
}

export interface InstallOptions {
  service: SpriteService;
  config: Config;
  logger: Logger;
  /** Called after each tool call (logging). */
  onCall?: (
    info: { tool: string; durationMs: number; isError: boolean; text?: string },
    extra: Extra,
  ) => void;
}

/** Tool calls running now, across every connection of this process (shutdown waits for them briefly). */
export const inFlight = { count: 0 };

/** Register tools/list and tools/call on `server` for `tools`. */
export function installTools(server: Server, source: ToolSource, options: InstallOptions): void {
  let loading: Promise<{ tools: readonly ToolDef[]; byName: Map<string, ToolDef> }> | undefined;
  const loaded = () =>
    (loading ??= source.load().then((tools) => ({
      tools,
      byName: new Map(tools.map((t) => [t.name, t])),
    })));
  server.registerCapabilities({ tools: { listChanged: false } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: source.cachedList ?? toolList((await loaded()).tools),
  }));
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const { byName } = await loaded();
    const tool = byName.get(request.params.name);
    if (tool === undefined) {
      throw new McpError(
        ErrorCode.InvalidParams,
        `Tool ${request.params.name} not found; tools: ${[...byName.keys()].join(', ')}`,
      );
    }
    const started = performance.now();
    inFlight.count++;
    let result: CallToolResult;
    try {
      result = await callTool(tool, request.params.arguments, { ...options, extra });
    } finally {
      inFlight.count--;
    }
    const first = result.content[0];
    options.onCall?.(
      {
        tool: tool.name,
        durationMs: performance.now() - started,
        isError: result.isError === true,
        ...(result.isError === true && first?.type === 'text' ? { text: first.text } : {}),
      },
      extra,
    );
    return result;
  });
}

async function callTool(
  tool: ToolDef,
  rawArgs: unknown,
  ctx: ToolContext,
): Promise<CallToolResult> {
  const parsed = tool.input.safeParse(rawArgs ?? {});
  if (!parsed.success) {
    return toolError(
      new DaemonError('VALIDATION', validationMessage(parsed.error.issues, rawArgs)),
      tool.errorShape,
    );
  }
  let out: ToolOutput<Record<string, unknown>>;
  try {
    out = (await tool.run(parsed.data, ctx)) as ToolOutput<Record<string, unknown>>;
  } catch (err) {
    const result = toolError(err, tool.errorShape, tool.failurePrefix);
    // The seed's texts are reused, but a non-DaemonError is a bug: keep its stack in the log.
    if (!(err instanceof Error && err.name === 'DaemonError')) {
      ctx.logger.error({ tool: tool.name, err }, 'tool failed unexpectedly');
    }
    return result;
  }
  const checked = tool.output.safeParse(out.structured);
  if (!checked.success) {
    ctx.logger.error(
      { tool: tool.name, issues: checked.error.issues },
      'result does not match outputSchema',
    );
    return toolError(
      new DaemonError(
        'JOB_FAILED',
        `Internal error: ${tool.name} produced a result that does not match its outputSchema; please report it`,
      ),
    );
  }
  const result = toolResult(out.structured, out.content ?? []);
  if (out.isError === true) {
    result.isError = true;
    if (out.errorText !== undefined) result.content.unshift({ type: 'text', text: out.errorText });
  }
  return result;
}
