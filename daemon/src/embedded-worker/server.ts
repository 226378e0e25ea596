import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Publisher, Reply } from 'zeromq';
import { errorMessage } from '../errors.js';
import { type Logger, silentLogger } from '../log.js';
import { encode } from '../protocol/codec.js';
import type { WorkerUpdate } from '../protocol/messages.js';
import { setUpSecurity } from './curve.js';
import { pubEndpointFor } from './endpoints.js';
import type { Engine } from './engine.js';
import { createEngine, type EngineName } from './engines/create.js';
import { handleFrame } from './handle-request.js';
import { JobQueue } from './job-queue.js';
import { runJob } from './run-job.js';

/** How to start an embedded worker. Every field has a default. */
export interface WorkerOptions {
  /** 'procedural' (default), 'comfyui', or a ready Engine (tests). */
  engine?: EngineName | Engine;
  /** REP endpoint; default tcp://127.0.0.1:5555. `tcp://127.0.0.1:*` picks a free port. */
  req?: string;
  /** PUB endpoint; default the REQ port + 1 (or `*` when REQ is `*`). */
  pub?: string;
  /** Parallel job slots (one per GPU); default 1. */
  slots?: number;
  /** Procedural step time in ms; default 20 (a demo job takes about a second). */
  stepMs?: number;
  /** Where images go; default ./worker-outputs (made absolute). */
  outputDir?: string;
  /** Most queued jobs before `generate` is refused with a busy job_error; default 1000. */
  maxQueue?: number;
  /** Allow a non-loopback bind; needs curveKeyFile (or insecure); default false. */
  bindPublic?: boolean;
  /** The worker's secret CURVE key file (NAME.key, mode 0600): REP and PUB become CURVE servers. */
  curveKeyFile?: string;
  /** With curveKeyFile: folder of the `.pub` files of the daemons allowed in (ZAP allow-list). */
  allowKeysDir?: string;
  /** Allow bindPublic without CURVE (logged as a warning); default false. */
  insecure?: boolean;
  /** Procedural: write `<image>.truth.png/.truth.json` beside each output; default false. */
  writeGroundTruth?: boolean;
  /** ComfyUI engine: server URL (default http://127.0.0.1:8188). */
  comfyuiUrl?: string;
  /** ComfyUI engine: folder of workflow templates (default <package>/config/workflows). */
  workflowDir?: string;
  /** ComfyUI engine: template file name (default sprite_optimized.json). */
  workflow?: string;
  logger?: Logger;
}

/** A started worker. */
export interface RunningWorker {
  /** The bound REP endpoint (the real port when `*` was asked). */
  reqEndpoint: string;
  /** The bound PUB endpoint. */
  pubEndpoint: string;
  /** Absolute output directory. */
  outputDir: string;
  /** The worker's CURVE public key (Z85) when CURVE is on, for the daemons' server_public_key_file. */
  curvePublicKey: string | undefined;
  engine: string;
  slots: number;
  /** Ends queued and running jobs with failure messages, flushes PUB, closes sockets. Idempotent. */
  close(): Promise<void>;
}

/**
 * Start the embedded DGX worker: REP + PUB sockets speaking PROTOCOL.md v1.0.0,
 * a job queue with `slots` parallel jobs, and an engine. With curveKeyFile the
 * sockets are CURVE servers that admit only the keys in allowKeysDir. Throws
 * DaemonError('CONFIG_INVALID') for a bad or non-loopback endpoint (without
 * bindPublic, or without CURVE unless insecure), an unusable key file, and the
 * engine's start-up error (e.g. ComfyUI unreachable).
 */
export async function startWorker(options: WorkerOptions = {}): Promise<RunningWorker> {
  const logger = options.logger ?? silentLogger;
  const reqWanted = options.req ?? 'tcp://127.0.0.1:5555';
  const pubWanted = options.pub ?? pubEndpointFor(reqWanted);
  const security = await setUpSecurity(
    { req: reqWanted, pub: pubWanted },
    {
      curveKeyFile: options.curveKeyFile,
      allowKeysDir: options.allowKeysDir,
      bindPublic: options.bindPublic ?? false,
      insecure: options.insecure ?? false,
    },
    logger,
  );
  const slots = Math.max(1, Math.floor(options.slots ?? 1));
  const outputDir = resolve(options.outputDir ?? 'worker-outputs');

  let engine: Engine;
  try {
    engine =
      typeof options.engine === 'object'
        ? options.engine
        : await createEngine(options.engine ?? 'procedural', {
            stepMs: options.stepMs ?? 20,
            writeGroundTruth: options.writeGroundTruth ?? false,
            ...(options.comfyuiUrl === undefined ? {} : { comfyuiUrl: options.comfyuiUrl }),
            ...(options.workflowDir === undefined ? {} : { workflowDir: options.workflowDir }),
            ...(options.workflow === undefined ? {} : { workflow: options.workflow }),
            logger,
          });
  } catch (err) {
    security.close();
    throw err;
  }

  const rep = new Reply({ linger: 0, ...security.socketOptions });
  const pub = new Publisher({ linger: 500, sendHighWaterMark: 10000, ...security.socketOptions });
  security.watch(rep, 'req');
  security.watch(pub, 'pub');
  try {
    await bindFreed(rep, reqWanted);
    await bindFreed(pub, pubWanted);
  } catch (err) {
    rep.close();
    pub.close();
    security.close();
    await engine.close();
    throw new Error(
      `worker could not bind req=${reqWanted} pub=${pubWanted}: ${errorMessage(err)}; is another worker using the port? pick other ports with --req/--pub`,
      { cause: err },
    );
  }
  try {
    // made only once everything else worked, so a failed start leaves no stray folder behind
    await mkdir(outputDir, { recursive: true });
  } catch (err) {
    rep.close();
    pub.close();
    security.close();
    await engine.close();
    throw new Error(
      `worker cannot create its output directory ${outputDir}: ${errorMessage(err)}; pass a writable --output-dir`,
      {
        cause: err,
      },
    );
  }
  const reqEndpoint = rep.lastEndpoint ?? reqWanted;
  const pubEndpoint = pub.lastEndpoint ?? pubWanted;

  // zeromq.js allows one send in flight per socket: chain PUB sends, which also keeps their order.
  let pubChain: Promise<void> = Promise.resolve();
  const publish = (update: WorkerUpdate): Promise<void> => {
    const frame = encode(update);
    // each link swallows its own failure, so one failed send never drops the next message
    pubChain = pubChain
      .then(() => (pub.closed ? undefined : pub.send(frame)))
      .catch((err: unknown) => logger.warn({ err: errorMessage(err) }, 'publish failed'));
    return pubChain;
  };

  const queue: JobQueue = new JobQueue({
    slots,
    maxQueue: options.maxQueue ?? 1000,
    run: (record) => runJob(record, { engine, queue, outputDir, publish, logger }),
  });
  const startedMs = Date.now();
  const context = { queue, engine, publish, startedMs, maxQueue: options.maxQueue ?? 1000 };

  const loop = (async () => {
    for (;;) {
      let frames: Buffer[];
      try {
        frames = await rep.receive();
      } catch (err) {
        if (rep.closed || (err as { code?: string }).code !== 'EAGAIN') return; // socket closed
        // libzmq's REP drops a message without the empty delimiter frame (a bare DEALER) and
        // zeromq.js reports that as EAGAIN: one malformed client must not end the loop for all.
        logger.debug({ err: errorMessage(err) }, 'dropped a request without a REQ envelope');
        continue;
      }
      // A multi-frame REQ message gets one reply, for its last frame (as pyzmq's recv() sees it).
      const frame = frames[frames.length - 1] ?? Buffer.alloc(0);
      const reply = await handleFrame(frame, context).catch((err: unknown) => ({
        type: 'error' as const,
        message: `Server error: ${errorMessage(err)}`,
      }));
      try {
        await rep.send(encode(reply));
      } catch {
        return;
      }
    }
  })();

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const reason =
        'Worker shutting down: job aborted before it finished; resubmit it to another worker';
      // an engine stuck in I/O must not hold shutdown forever: give running jobs 5 s to end
      const { dropped, stopped } = queue.shutdown(reason);
      const deadline = new Promise<'late'>((resolve) => setTimeout(resolve, 5000, 'late').unref());
      if ((await Promise.race([stopped, deadline])) === 'late') {
        logger.warn('running jobs did not stop within 5 s of shutdown; closing anyway');
        dropped.push(...queue.unfinished); // their runners will find PUB closed: end them here
      }
      for (const r of dropped) {
        await publish({ type: 'job_finished', job_id: r.job.jobId, success: false, duration_s: 0 });
        await publish({ type: 'job_error', job_id: r.job.jobId, error: reason });
      }
      await pubChain;
      rep.close();
      await loop;
      pub.close(); // linger lets the last messages out
      security.close();
      await engine.close();
      logger.info('worker stopped');
    })();
    return closing;
  };

  const curve =
    security.publicKey === undefined
      ? { curve: false }
      : { curve: true, publicKey: security.publicKey, allowedKeys: security.allowedKeys };
  logger.info(
    { reqEndpoint, pubEndpoint, engine: engine.name, slots, outputDir, ...curve },
    'worker ready',
  );
  return {
    reqEndpoint,
    pubEndpoint,
    outputDir,
    curvePublicKey: security.publicKey,
    engine: engine.name,
    slots,
    close,
  };
}

/**
 * Binds, waiting up to 1 s for a port that a closed socket still holds: libzmq closes a
 * listener asynchronously (in its I/O thread, after `close()` or `unbind()` returned), so
 * a worker restarted at once on the same endpoint can meet EADDRINUSE from its own
 * predecessor for a few milliseconds. A port held by a live process still fails after 1 s.
 */
async function bindFreed(socket: Reply | Publisher, endpoint: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await socket.bind(endpoint);
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== 'EADDRINUSE' || attempt >= 20) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
