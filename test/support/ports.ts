import { createServer } from 'node:net';

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (listen(0), close). Use it
 * only where a fixed endpoint is needed (a dead endpoint, a restart on the same
 * port); otherwise bind `tcp://127.0.0.1:*` and read `lastEndpoint`.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A tcp:// endpoint nobody listens on (for "worker down" tests). */
export async function deadEndpoint(): Promise<string> {
  return `tcp://127.0.0.1:${await freePort()}`;
}
