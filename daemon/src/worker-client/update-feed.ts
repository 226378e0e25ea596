import { Subscriber } from 'zeromq';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { decodeUpdate } from '../protocol/codec.js';
import type { WorkerUpdate } from '../protocol/messages.js';
import { type CurveClientKeys, curveSocketOptions, watchHandshake } from './curve-link.js';

type Listener = (update: WorkerUpdate) => void;

/**
 * The SUB side of one worker: subscribed to everything (""), decodes each
 * frame, and hands it to the listener registered for its job id. Updates for
 * ids nobody listens to are dropped (another daemon's jobs on a shared worker).
 * A malformed frame is logged and skipped, never thrown. With `curve` keys SUB is a CURVE
 * client; a refused handshake is logged once (with the fix) and kept in `refusal`.
 */
export class UpdateFeed {
  private socket: Subscriber | undefined;
  private connected: Promise<void> | undefined;
  private readonly listeners = new Map<string, Listener>();
  /** Count of frames that failed to decode, for tests and status. */
  badFrames = 0;
  /** Time of the last update of any kind (ms since epoch), 0 if none yet. */
  lastUpdateAt = 0;
  /** Why the worker's PUB turned this SUB down, when it did. */
  refusal: string | undefined;

  constructor(
    readonly endpoint: string,
    private readonly logger: Logger,
    private readonly curve?: CurveClientKeys,
  ) {}

  /**
   * Connect SUB (once) and wait up to `waitMs` for the TCP connection, so the
   * subscription has a chance to reach the PUB before the first generate
   * (PUB drops messages to late joiners). Never throws: if the PUB is not up
   * yet, ZeroMQ keeps reconnecting in the background.
   */
  ensureConnected(waitMs: number): Promise<void> {
    if (this.connected === undefined) {
      const socket = new Subscriber({ linger: 0, ...curveSocketOptions(this.curve) });
      this.socket = socket;
      watchHandshake(socket, this.endpoint, this.curve, (err) => {
        if (this.refusal === err.message) return; // ZeroMQ retries every 100 ms: log it once
        this.refusal = err.message;
        this.logger.error(
          { endpoint: this.endpoint, err: err.message },
          'worker refused the SUB connection; no job updates',
        );
      });
      const up = new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
        socket.events.on('handshake', () => {
          this.refusal = undefined;
          clearTimeout(timer);
          // the subscription travels right after the handshake; give the PUB a moment to apply it
          setTimeout(resolve, 5);
        });
      });
      socket.subscribe();
      socket.connect(this.endpoint);
      void this.loop(socket);
      this.connected = up;
    }
    return this.connected;
  }

  /** Route updates for `jobId` to `listener` until the returned function is called. */
  listen(jobId: string, listener: Listener): () => void {
    this.listeners.set(jobId, listener);
    return () => {
      if (this.listeners.get(jobId) === listener) this.listeners.delete(jobId);
    };
  }

  close(): void {
    this.socket?.close();
    this.socket = undefined;
    this.listeners.clear();
  }

  private async loop(socket: Subscriber): Promise<void> {
    try {
      for await (const [frame] of socket) {
        if (frame === undefined) continue;
        let update: WorkerUpdate;
        try {
          update = decodeUpdate(frame);
        } catch (err) {
          this.badFrames++;
          this.logger.error(
            { endpoint: this.endpoint, bytes: frame.length, err: errorMessage(err) },
            'worker published a malformed update',
          );
          continue;
        }
        this.lastUpdateAt = Date.now();
        const listener = this.listeners.get(update.job_id);
        if (listener === undefined) continue;
        try {
          listener(update);
        } catch (err) {
          this.logger.error(
            { endpoint: this.endpoint, err: errorMessage(err) },
            'update listener failed',
          );
        }
      }
    } catch (err) {
      if (!socket.closed)
        this.logger.error({ endpoint: this.endpoint, err: errorMessage(err) }, 'SUB socket failed');
    }
  }
}
