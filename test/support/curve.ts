import { copyFileSync, mkdirSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { generateKeyFiles } from '../../daemon/src/config/curve-keys.js';
import type { CurveClientKeys } from '../../daemon/src/worker-client/curve-link.js';
import { loadCurveClient } from '../../daemon/src/worker-client/curve-link.js';
import { ownedTempDir } from './temp-dir.js';

/** Key files of one test: a worker pair, an allowed daemon pair, a stranger pair, an allow folder. */
export interface CurveFixture {
  dir: string;
  /** worker.key / worker.pub */
  workerKey: string;
  workerPub: string;
  /** daemon.key / daemon.pub (daemon.pub is in allowDir) */
  daemonKey: string;
  daemonPub: string;
  /** stranger.key / stranger.pub (not allowed) */
  strangerKey: string;
  strangerPub: string;
  allowDir: string;
  /** A daemon's client keys as the config would load them. */
  client(name?: 'daemon' | 'stranger', serverPub?: string): CurveClientKeys;
  remove(): void;
}

export function curveFixture(): CurveFixture {
  const { dir, remove } = ownedTempDir('dgx-curve-');
  const keys = join(dir, 'keys');
  const allowDir = join(dir, 'allowed');
  mkdirSync(allowDir);
  for (const name of ['worker', 'daemon', 'stranger']) generateKeyFiles(name, keys);
  copyFileSync(join(keys, 'daemon.pub'), join(allowDir, 'daemon.pub'));
  const f: CurveFixture = {
    dir,
    workerKey: join(keys, 'worker.key'),
    workerPub: join(keys, 'worker.pub'),
    daemonKey: join(keys, 'daemon.key'),
    daemonPub: join(keys, 'daemon.pub'),
    strangerKey: join(keys, 'stranger.key'),
    strangerPub: join(keys, 'stranger.pub'),
    allowDir,
    client: (name = 'daemon', serverPub = f.workerPub) =>
      loadCurveClient({
        client_key_file: join(keys, `${name}.key`),
        server_public_key_file: serverPub,
        key: 'backend.curve',
      }),
    remove,
  };
  return f;
}

/**
 * A TCP relay on 127.0.0.1 that records every byte each way, to see what travels on the wire.
 * `endpoint` is the tcp:// address to connect to instead of `target`.
 */
export async function tapProxy(target: string): Promise<{
  endpoint: string;
  bytes: () => Buffer;
  close: () => Promise<void>;
}> {
  const m = /^tcp:\/\/([^:]+):(\d+)$/.exec(target);
  if (!m) throw new Error(`tapProxy: ${target} is not tcp://HOST:PORT`);
  const [host, port] = [m[1] as string, Number(m[2])];
  const chunks: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((inbound) => {
    const outbound = connect(port, host);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    inbound.on('data', (d: Buffer) => {
      chunks.push(d);
      outbound.write(d);
    });
    outbound.on('data', (d: Buffer) => {
      chunks.push(d);
      inbound.write(d);
    });
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const listenPort = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    endpoint: `tcp://127.0.0.1:${listenPort}`,
    bytes: () => Buffer.concat(chunks),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
