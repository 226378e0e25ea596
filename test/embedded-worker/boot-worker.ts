import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../daemon/src/config/load.js';
import {
  type RunningWorker,
  startWorker,
  type WorkerOptions,
} from '../../daemon/src/embedded-worker/index.js';
import {
  type FakeComfyOptions,
  type FakeComfyUI,
  startFakeComfyUI,
} from '../support/fake-comfyui.js';
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

/** The shipped workflow templates (config/workflows). */
export const WORKFLOWS = join(PACKAGE_ROOT, 'config/workflows');

/**
 * A fake ComfyUI on a free loopback port and an embedded worker with the ComfyUI engine
 * in front of it (the shipped workflows), WireClient connected; closed by `cleanups`.
 */
export async function bootComfyWorker(
  cleanups: Cleanups,
  fake: FakeComfyOptions = {},
  options: WorkerOptions = {},
): Promise<{ comfy: FakeComfyUI; worker: RunningWorker; client: WireClient }> {
  const comfy = await startFakeComfyUI(fake);
  cleanups.push(() => comfy.close());
  const { worker, client } = await bootWorker(cleanups, {
    engine: 'comfyui',
    comfyuiUrl: comfy.url,
    workflowDir: WORKFLOWS,
    ...options,
  });
  return { comfy, worker, client };
}
