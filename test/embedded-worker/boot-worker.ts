import {
  type RunningWorker,
  startWorker,
  type WorkerOptions,
} from '../../daemon/src/embedded-worker/index.js';
import { tempDir, WireClient } from './wire-client.js';

export type Cleanups = (() => Promise<void> | void)[];

/**
 * An embedded worker on free loopback ports, writing into its own temp dir, with a
 * WireClient connected. Everything is closed (client, worker, dir) by the `cleanups`
 * a test file runs in reverse order after each test.
 */
export async function bootWorker(
  cleanups: Cleanups,
  options: WorkerOptions = {},
): Promise<{ worker: RunningWorker; client: WireClient; dir: string }> {
  const tmp = await tempDir();
  cleanups.push(tmp.remove);
  const worker = await startWorker({ req: 'tcp://127.0.0.1:*', outputDir: tmp.dir, ...options });
  cleanups.push(() => worker.close());
  const client = await WireClient.connect(worker.reqEndpoint, worker.pubEndpoint);
  cleanups.push(() => client.close());
  return { worker, client, dir: tmp.dir };
}
