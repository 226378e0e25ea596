import { createServer, type Server } from 'node:net';

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (listen(0), close). Use it
 * only where a fixed endpoint is needed (a dead endpoint, a restart on the same
 * port); otherwise bind `tcp://127.0.0.1:*` and read `lastEndpoint`.
 */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port as number;
}

/**
 * `count` distinct free ports: every listener stays open until all are allocated, so two
 * calls in a row cannot hand out the same port (the kernel may reuse a port just closed).
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      ports.push(
        await new Promise<number>((resolve, reject) => {
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => {
            const address = server.address();
            resolve(typeof address === 'object' && address !== null ? address.port : 0);
          });
        }),
      );
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}

/** A tcp:// endpoint nobody listens on (for "worker down" tests). */
export async function deadEndpoint(): Promise<string> {
  return `tcp://127.0.0.1:${await freePort()}`;
}
