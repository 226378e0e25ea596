import { request } from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../daemon/src/config/schema.js';
import { silentLogger } from '../../daemon/src/log.js';
import {
  type HttpServing,
  MAX_BODY_BYTES,
  serveHttp,
} from '../../daemon/src/mcp/transports/http.js';
import { SpriteService } from '../../daemon/src/service/index.js';
import { fakeGeneration } from './support/fake-generation.js';
import { TOOLS } from './support/tool-names.js';

const TOKEN = '0123456789abcdef-secret';
let serving: HttpServing | undefined;
let service: SpriteService | undefined;
afterEach(async () => {
  await serving?.close();
  await service?.close();
  serving = undefined;
});

async function start(mcp: Record<string, unknown> = {}): Promise<HttpServing> {
  const config = ConfigSchema.parse({
    mcp_server: { port: 0, ...mcp },
    state_dir: '/tmp/dgx-http-test-state',
  });
  const generation = fakeGeneration();
  service = new SpriteService({
    config,
    logger: silentLogger,
    generation: async () => generation,
  });
  serving = await serveHttp({ service, config, logger: silentLogger });
  return serving;
}

/** A raw POST with full control over headers (fetch forbids setting Host). */
function post(
  url: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...headers,
        },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const INIT = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: {
    protocolVersion: '2025-11-25',
    capabilities: {},
    clientInfo: { name: 'raw', version: '1' },
  },
});

describe('Streamable HTTP transport', () => {
  it('serves an SDK client on 127.0.0.1 by default', async () => {
    const s = await start();
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    const client = new Client({ name: 'http-test', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(s.url)));
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(TOOLS);
    const status = await client.callTool({ name: 'get_status', arguments: {} });
    expect(status.structuredContent).toMatchObject({ workers: [{ name: 'fake' }] });
    await client.close();
  });

  it.each([
    [
      'a foreign Host (DNS rebinding)',
      { host: 'evil.example:80' },
      403,
      /^Forbidden: Host "evil\.example:80" is not this server/,
    ],
    [
      'a foreign Origin',
      { origin: 'https://evil.example' },
      403,
      /^Forbidden: Origin "https:\/\/evil\.example" is not allowed; add it to mcp_server\.allowed_origins/,
    ],
    ['a malformed Origin', { origin: 'not a url' }, 403, /^Forbidden: Origin "not a url"/],
  ])('refuses %s with %s', async (_what, headers, status, message) => {
    const s = await start();
    const res = await post(s.url, INIT, headers as Record<string, string>);
    expect(res.status).toBe(status);
    expect(res.text).toMatch(message);
  });

  it('accepts a loopback Origin and one from allowed_origins', async () => {
    const s = await start({ allowed_origins: ['https://editor.example'] });
    expect((await post(s.url, INIT, { origin: 'http://localhost:5173' })).status).toBe(200);
    expect((await post(s.url, INIT, { origin: 'https://editor.example' })).status).toBe(200);
  });

  it('requires the bearer token when one is configured', async () => {
    const s = await start({ auth_token: TOKEN });
    const none = await post(s.url, INIT);
    expect(none.status).toBe(401);
    expect(none.text).toContain(
      'Unauthorized: send "Authorization: Bearer <mcp_server.auth_token>"',
    );
    expect((await post(s.url, INIT, { authorization: 'Bearer wrong-token-0000000' })).status).toBe(
      401,
    );
    const client = new Client({ name: 'http-test', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(s.url), {
        requestInit: { headers: { authorization: `Bearer ${TOKEN}` } },
      }),
    );
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(TOOLS);
    await client.close();
  });

  it('refuses to bind beyond loopback without a token', async () => {
    const config = ConfigSchema.parse({ mcp_server: { host: '0.0.0.0', port: 0 } });
    service = new SpriteService({ config, logger: silentLogger });
    await expect(serveHttp({ service, config, logger: silentLogger })).rejects.toThrow(
      /^serve --http on 0\.0\.0\.0 reaches beyond this machine, so it needs a bearer token: set mcp_server\.auth_token/,
    );
  });

  it('answers 413 for an oversized body, 400 for bad JSON and 404 elsewhere', async () => {
    const s = await start();
    const big = await post(s.url, JSON.stringify({ pad: 'x'.repeat(MAX_BODY_BYTES) }));
    expect(big.status).toBe(413);
    expect(big.text).toContain(`request body exceeds ${MAX_BODY_BYTES} bytes`);
    const bad = await post(s.url, '{not json');
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text)).toMatchObject({ error: { code: -32700 } });
    expect((await post(s.url.replace('/mcp', '/other'), INIT)).status).toBe(404);
  });
});
