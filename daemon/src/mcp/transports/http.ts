import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Config } from '../../config/schema.js';
import { DaemonError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { SpriteService } from '../../service/index.js';
import { createMcpServer } from '../server.js';
import { checkAuth, checkHost, checkOrigin, isLoopbackHost } from './http-guard.js';

/** Largest JSON-RPC request body accepted, bytes (413 beyond). */
export const MAX_BODY_BYTES = 1024 * 1024;

export interface HttpServeOptions {
  service: SpriteService;
  config: Config;
  logger: Logger;
  /** Override mcp_server.host / port (CLI flags). */
  host?: string | undefined;
  port?: number | undefined;
}

export interface HttpServing {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/**
 * Streamable HTTP on POST/GET/DELETE /mcp, one MCP session per client
 * (Mcp-Session-Id), all sharing the one SpriteService. Binds 127.0.0.1 by
 * default. Every request passes Host (DNS rebinding) and Origin checks (403),
 * the bearer token when one is configured (401; required when binding beyond
 * loopback) and a body size limit (413).
 */
export async function serveHttp(options: HttpServeOptions): Promise<HttpServing> {
  const { config, logger } = options;
  const host = options.host ?? config.mcp_server.host;
  const port = options.port ?? config.mcp_server.port;
  const token = config.mcp_server.auth_token;
  if (!isLoopbackHost(host) && token === undefined) {
    throw new DaemonError(
      'CONFIG_INVALID',
      `serve --http on ${host} reaches beyond this machine, so it needs a bearer token: set mcp_server.auth_token (16+ characters, env DGX_PIXELS_MCP_SERVER_AUTH_TOKEN) or bind 127.0.0.1`,
    );
  }
  const sessions = new Map<
    string,
    { transport: StreamableHTTPServerTransport; close: () => Promise<void> }
  >();
  let boundPort = port;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/mcp') return reply(res, 404, 'not found: the MCP endpoint is /mcp');
    const denied =
      checkHost(req.headers.host, host, boundPort) ??
      checkOrigin(req.headers.origin, config.mcp_server.allowed_origins) ??
      checkAuth(req.headers.authorization, token, timingSafeEqual);
    if (denied !== undefined) {
      logger.warn({ status: denied.status, reason: denied.message }, 'http request refused');
      return reply(res, denied.status, denied.message);
    }
    const sessionId = req.headers['mcp-session-id'];
    const existing = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
    if (req.method === 'POST') {
      const body = await readBody(req, MAX_BODY_BYTES);
      if (body === 'too-large')
        return reply(res, 413, `request body exceeds ${MAX_BODY_BYTES} bytes`);
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        return jsonRpcError(res, 400, -32700, 'Parse error: the body is not JSON');
      }
      if (existing) return existing.transport.handleRequest(req, res, parsed);
      if (sessionId === undefined && isInitializeRequest(parsed)) {
        const { server, detach } = createMcpServer(options);
        const transport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (id) => {
            sessions.set(id, { transport, close: async () => server.close() });
          },
        });
        transport.onclose = () => {
          detach();
          if (transport.sessionId !== undefined) sessions.delete(transport.sessionId);
        };
        await server.connect(transport);
        return transport.handleRequest(req, res, parsed);
      }
      return jsonRpcError(
        res,
        400,
        -32000,
        'Bad Request: no valid session; send initialize first (without Mcp-Session-Id)',
      );
    }
    if ((req.method === 'GET' || req.method === 'DELETE') && existing)
      return existing.transport.handleRequest(req, res);
    return jsonRpcError(res, 400, -32000, 'Bad Request: unknown or missing Mcp-Session-Id');
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.error({ err }, 'http request failed');
      if (!res.headersSent) reply(res, 500, 'internal error');
    });
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolveListen());
  });
  boundPort = (server.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host;
  const url = `http://${shown}:${boundPort}/mcp`;
  logger.info({ url }, 'MCP Streamable HTTP listening');
  return {
    url,
    server,
    async close() {
      await Promise.all([...sessions.values()].map((s) => s.close().catch(() => undefined)));
      sessions.clear();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function reply(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(`${message}\n`);
}

function jsonRpcError(res: ServerResponse, status: number, code: number, message: string): void {
  res
    .writeHead(status, { 'content-type': 'application/json' })
    .end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

/** The request body, or 'too-large' as soon as it passes `limit` (the rest is not buffered). */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return 'too-large';
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      req.resume();
      return 'too-large';
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
