import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../daemon/src/config/schema.js';
import { silentLogger } from '../../daemon/src/log.js';
import { type HttpServing, serveHttp } from '../../daemon/src/mcp/transports/http.js';
import { SpriteService } from '../../daemon/src/service/index.js';
import { suiteTempDir } from '../support/temp-dir.js';
import { recordFigure } from './figures.js';

// The Streamable HTTP transport against hostile requests: foreign Host (DNS rebinding) and Origin,
// missing or wrong bearer token, oversized and malformed bodies. Real HTTP on 127.0.0.1.

const TOKEN = 'reliability-token-0123456789';
let serving: HttpServing;
let service: SpriteService;
// registered before the afterAll below, so it is removed after the server is closed
const dir = suiteTempDir('dgx-rel-http-');
let port: number;

beforeAll(async () => {
  const config = ConfigSchema.parse({
    state_dir: join(dir, 'state'),
    mcp_server: { auth_token: TOKEN, allowed_origins: ['https://editor.example'] },
    logging: { level: 'silent' },
  });
  service = new SpriteService({ config, logger: silentLogger, cwd: dir });
  serving = await serveHttp({ service, config, logger: silentLogger, host: '127.0.0.1', port: 0 });
  port = Number(new URL(serving.url).port);
});
afterAll(async () => {
  await serving.close();
  await service.close();
});

const INIT = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: {
    protocolVersion: '2025-06-18',
    capabilities: {},
    clientInfo: { name: 'r', version: '1' },
  },
});

function send(
  headers: Record<string, string>,
  body: string | Buffer | undefined = INIT,
  opts: { path?: string; method?: string; chunked?: boolean } = {},
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: opts.path ?? '/mcp',
        method: opts.method ?? 'POST',
        agent: false, // one connection per request: a 413 may leave the old one mid-body
        headers: {
          host: `127.0.0.1:${port}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          authorization: `Bearer ${TOKEN}`,
          ...headers,
        },
        timeout: 10_000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
          if (text.length > 4000) res.destroy();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('close', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', (err) => {
      // the server may answer 413 and close while we are still sending
      if (
        (err as NodeJS.ErrnoException).code === 'EPIPE' ||
        (err as NodeJS.ErrnoException).code === 'ECONNRESET'
      )
        return;
      reject(err);
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    if (opts.chunked && body !== undefined) {
      const buf = Buffer.from(body);
      for (let i = 0; i < buf.length; i += 65536) req.write(buf.subarray(i, i + 65536));
      req.end();
    } else req.end(body);
  });
}

const big = Buffer.alloc(2 * 1024 * 1024, 0x20);
const CASES: [string, Record<string, string>, string | Buffer | undefined, number, object?][] = [
  ['valid initialize', {}, INIT, 200],
  ['foreign Host (DNS rebinding)', { host: 'attacker.example:PORT' }, INIT, 403],
  ['foreign Host without port', { host: 'attacker.example' }, INIT, 403],
  ['loopback Host, wrong port', { host: '127.0.0.1:1' }, INIT, 403],
  ['foreign Origin', { origin: 'http://evil.example' }, INIT, 403],
  ['null Origin', { origin: 'null' }, INIT, 403],
  ['malformed Origin', { origin: '::::' }, INIT, 403],
  ['allowed Origin (config)', { origin: 'https://editor.example' }, INIT, 200],
  ['loopback Origin', { origin: 'http://localhost:5173' }, INIT, 200],
  ['no token', { authorization: '' }, INIT, 401],
  ['wrong token', { authorization: 'Bearer nope' }, INIT, 401],
  ['token of the wrong length', { authorization: `Bearer ${TOKEN}x` }, INIT, 401],
  [
    'Basic auth',
    { authorization: `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}` },
    INIT,
    401,
  ],
  ['2 MiB body (Content-Length)', {}, big, 413],
  ['2 MiB body (chunked)', { 'transfer-encoding': 'chunked' }, big, 413, { chunked: true }],
  ['body not JSON', {}, '{"jsonrpc": ', 400],
  ['JSON but no session', {}, JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }), 400],
  [
    'unknown session id',
    { 'mcp-session-id': 'forged' },
    JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    400,
  ],
  ['wrong path', {}, INIT, 404, { path: '/admin' }],
];

describe('HTTP transport guards', () => {
  it.each(CASES)('%s', async (_label, headers, body, status, opts) => {
    const chunked = (opts as { chunked?: boolean } | undefined)?.chunked === true;
    const path = (opts as { path?: string } | undefined)?.path;
    const h = { ...headers };
    if (h.host !== undefined) h.host = h.host.replace('PORT', String(port));
    const r = await send(h, body, { ...(path ? { path } : {}), chunked });
    expect(r.status, r.text.slice(0, 300)).toBe(status);
    if (status === 403 || status === 401) expect(r.text).toMatch(/^(Forbidden|Unauthorized): /);
  });

  it('records the table', () => {
    recordFigure({
      suite: 'hostile input',
      name: 'HTTP requests with foreign Host/Origin, bad token, oversized or malformed body',
      value: CASES.length,
      note: 'each answered with the expected status (403 / 401 / 413 / 400 / 404, 200 for the allowed ones)',
    });
    expect(CASES.length).toBeGreaterThan(15);
  });
});
