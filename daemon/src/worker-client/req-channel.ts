import { Request } from 'zeromq';
import { connectionFailed, DaemonError } from '../errors.js';
import type { Logger } from '../log.js';
import { decodeReply, encode } from '../protocol/codec.js';
import type { WorkerReply, WorkerRequest } from '../protocol/messages.js';
import {
  type CurveClientKeys,
  curveSocketOptions,
  HandshakeRefused,
  watchHandshake,
} from './curve-link.js';

export interface RequestOptions {
  /** Reply time-out of one attempt, ms. */
  timeoutMs: number;
  /**
   * Extra attempts after a time-out (Lazy Pirate). Only safe for idempotent
   * requests: a resent `generate` could run the job twice (PROTOCOL.md 12).
   */
  retries: number;
}

/**
 * One REQ socket to one worker, used the "Lazy Pirate" way (ZeroMQ Guide ch. 4):
 * a REQ socket that timed out is stuck waiting for a reply, so it is closed with
 * linger 0 (dropping the unsent request and any late reply) and a fresh one is
 * connected before the next attempt. Requests are serialised: REQ allows one
 * outstanding request per socket. With `curve` keys the socket is a CURVE client; a
 * handshake the worker refuses (key not allowed, CURVE on one side only) fails the request at
 * once with a HandshakeRefused that names the setting to fix, instead of a time-out.
 */
export class ReqChannel {
  private socket: Request | undefined;
  /** Rejects when the current socket's handshake is refused. */
  private refused: Promise<never> = new Promise(() => undefined);
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Socket generation, for logs and tests: bumps each time a socket is reopened. */
  reopenCount = 0;

  constructor(
    readonly endpoint: string,
    private readonly logger: Logger,
    private readonly curve?: CurveClientKeys,
  ) {}

  /**
   * Send `message` and wait for its reply, queued behind earlier requests.
   * Throws DaemonError 'WORKER_TIMEOUT' when every attempt timed out,
   * 'BAD_FRAME' when the reply could not be decoded (logged; the socket stays
   * usable), 'WORKER_UNREACHABLE' after close().
   */
  request(message: WorkerRequest, options: RequestOptions): Promise<WorkerReply> {
    const run = this.tail.then(
      () => this.attempts(message, options),
      () => this.attempts(message, options),
    );
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Close the socket for good (linger 0). Pending and later requests fail. */
  close(): void {
    this.closed = true;
    this.drop();
  }

  private async attempts(message: WorkerRequest, options: RequestOptions): Promise<WorkerReply> {
    const frame = encode(message);
    const tries = options.retries + 1;
    for (let attempt = 1; attempt <= tries; attempt++) {
      if (this.closed) throw this.closedError(message.type);
      const socket = this.open();
      socket.receiveTimeout = options.timeoutMs;
      socket.sendTimeout = options.timeoutMs;
      let raw: Buffer | undefined;
      const refused = this.refused;
      try {
        await Promise.race([settled(socket.send(frame)), refused]);
        [raw] = await Promise.race([settled(socket.receive()), refused]);
      } catch (err) {
        if (this.closed) throw this.closedError(message.type);
        if (err instanceof HandshakeRefused) {
          // the worker turned this daemon down: retrying cannot help until a config changes
          this.logger.error(
            { endpoint: this.endpoint, request: message.type, err: err.message },
            'worker refused the connection',
          );
          this.drop();
          throw err;
        }
        // Time-out (EAGAIN) or a socket error: this socket must not be reused.
        this.logger.warn(
          { endpoint: this.endpoint, request: message.type, attempt, tries, err: String(err) },
          'worker request timed out; reopening REQ socket',
        );
        this.drop();
        continue;
      }
      if (raw === undefined)
        throw new DaemonError(
          'BAD_FRAME',
          `empty reply to "${message.type}" from ${this.endpoint}`,
        );
      try {
        return decodeReply(raw);
      } catch (err) {
        this.logger.error(
          { endpoint: this.endpoint, request: message.type, bytes: raw.length, err: String(err) },
          'worker sent a malformed reply',
        );
        throw err;
      }
    }
    throw new DaemonError(
      'WORKER_TIMEOUT',
      `no DGX worker answered "${message.type}" at ${this.endpoint} within ${options.timeoutMs} ms ` +
        `(${tries} attempt${tries > 1 ? 's' : ''}); start it (dgx-pixels worker) or check backend.zmq_endpoint`,
    );
  }

  private open(): Request {
    if (this.socket === undefined) {
      const socket = new Request({ linger: 0, ...curveSocketOptions(this.curve) });
      let refuse: (err: HandshakeRefused) => void = () => undefined;
      this.refused = new Promise<never>((_, reject) => {
        refuse = reject;
      });
      this.refused.catch(() => undefined); // nobody may be waiting when it happens
      watchHandshake(socket, this.endpoint, this.curve, (err) => refuse(err));
      socket.connect(this.endpoint);
      this.socket = socket;
    }
    return this.socket;
  }

  private drop(): void {
    if (this.socket === undefined) return;
    this.socket.linger = 0;
    this.socket.close();
    this.socket = undefined;
    if (!this.closed) this.reopenCount++;
  }

  private closedError(type: string): DaemonError {
    return connectionFailed(`request "${type}" to ${this.endpoint} aborted: the client was closed`);
  }
}

/** `p`, with a rejection that nobody awaits any more (lost a race) marked as handled. */
function settled<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}
