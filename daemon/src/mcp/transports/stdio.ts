import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../log.js';
import type { SpriteService } from '../../service/index.js';
import { createMcpServer } from '../server.js';
import { inFlight } from '../tool-registry.js';

/**
 * Serve MCP over this process's stdin/stdout. stdout carries nothing but
 * JSON-RPC (logs go to stderr). Resolves when the client goes away (stdin EOF)
 * or `stop()` is called; the caller then closes the service, which cancels
 * the jobs still running.
 */
export async function serveStdio(options: {
  service: SpriteService;
  config: Config;
  logger: Logger;
}): Promise<{ closed: Promise<void>; stop: () => Promise<void> }> {
  const { server, detach } = createMcpServer(options);
  const transport = new StdioServerTransport();
  let resolveClosed: () => void = () => undefined;
  const closed = new Promise<void>((r) => {
    resolveClosed = r;
  });
  const stop = async () => {
    // A client may close its end right after its last request: answer what is running
    // (bounded), then close; generation jobs still going are cancelled by service.close().
    const deadline = Date.now() + 2000;
    while (inFlight.count > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    detach();
    process.stdin.off('end', onEnd);
    await server.close().catch(() => undefined);
    resolveClosed();
  };
  const onEnd = () => {
    options.logger.info('stdin closed: client gone, shutting down');
    void stop();
  };
  process.stdin.on('end', onEnd);
  await server.connect(transport);
  server.server.onclose = () => resolveClosed();
  return { closed, stop };
}
