import { decode } from '@msgpack/msgpack';
import { Request, Subscriber } from 'zeromq';
import { encode } from '../../daemon/src/protocol/codec.js';
import { ownedTempDir } from '../support/temp-dir.js';

export type Msg = Record<string, unknown> & { type: string };

/**
 * A raw test client: one REQ and one SUB socket, MessagePack by hand (no
 * daemon code on the receiving side except the encoder), every wait with a
 * deadline and a message naming what did not arrive.
 */
export class WireClient {
  readonly updates: Msg[] = [];
  readonly rawUpdates: Buffer[] = [];
  private waiters: (() => void)[] = [];
  private req: Request;
  private readonly sub = new Subscriber({ linger: 0 });

  private constructor(
    readonly reqEndpoint: string,
    readonly pubEndpoint: string,
  ) {
    this.req = new Request({ linger: 0, receiveTimeout: 5000, sendTimeout: 1000 });
  }

  /** Connect REQ and SUB; waits `settleMs` so PUB does not drop the first messages (slow joiner). */
  static async connect(
    reqEndpoint: string,
    pubEndpoint: string,
    settleMs = 250,
  ): Promise<WireClient> {
    const c = new WireClient(reqEndpoint, pubEndpoint);
    c.req.connect(reqEndpoint);
    c.sub.connect(pubEndpoint);
    c.sub.subscribe();
    void c.pump();
    await new Promise((r) => setTimeout(r, settleMs));
    return c;
  }

  private async pump(): Promise<void> {
    try {
      for await (const [frame] of this.sub) {
        if (frame === undefined) continue;
        this.rawUpdates.push(frame);
        this.updates.push(decode(frame) as Msg);
        for (const w of this.waiters.splice(0)) w();
      }
    } catch {
      // closed
    }
  }

  /** Send a message (object → our encoder, bytes → as-is, array → several frames) and decode the reply. */
  async request(message: Record<string, unknown> | Uint8Array | Uint8Array[]): Promise<Msg> {
    return decode(await this.requestRaw(message)) as Msg;
  }

  async requestRaw(message: Record<string, unknown> | Uint8Array | Uint8Array[]): Promise<Buffer> {
    const frames = Array.isArray(message)
      ? message
      : [message instanceof Uint8Array ? message : encode(message)];
    await this.req.send(frames);
    try {
      const [reply] = await this.req.receive();
      return reply as Buffer;
    } catch (err) {
      // Lazy Pirate: a REQ that missed its reply is stuck; reopen it for the next test step
      this.req.close();
      this.req = new Request({ linger: 0, receiveTimeout: 5000, sendTimeout: 1000 });
      this.req.connect(this.reqEndpoint);
      throw new Error(
        `no reply from ${this.reqEndpoint} within 5 s to ${JSON.stringify(message).slice(0, 80)}`,
        {
          cause: err,
        },
      );
    }
  }

  /** Updates of one job, in arrival order. */
  of(jobId: string): Msg[] {
    return this.updates.filter((u) => u.job_id === jobId);
  }

  /** Wait until `predicate` holds over the updates received so far. */
  async until(
    predicate: (updates: Msg[]) => boolean,
    what: string,
    timeoutMs = 10_000,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.updates)) {
      const left = deadline - Date.now();
      if (left <= 0) {
        const seen = this.updates.map((u) => `${u.type}:${String(u.job_id).slice(0, 8)}`).join(' ');
        throw new Error(
          `${what} did not happen within ${timeoutMs} ms; updates seen: ${seen || 'none'}`,
        );
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Wait for the job's terminal message (job_complete or job_error) and return all its updates. */
  async terminal(jobId: string, timeoutMs = 10_000): Promise<Msg[]> {
    await this.until(
      (u) =>
        u.some((m) => m.job_id === jobId && (m.type === 'job_complete' || m.type === 'job_error')),
      `job ${jobId} ending with job_complete or job_error`,
      timeoutMs,
    );
    return this.of(jobId);
  }

  close(): void {
    this.req.close();
    this.sub.close();
  }
}

let counter = 0;
/** A fresh job id (UUID-shaped, unique per test run). */
export function jobId(): string {
  counter++;
  return `00000000-0000-4000-8000-${(Date.now() % 1e8).toString().padStart(8, '0')}${String(counter).padStart(4, '0')}`;
}

/** A valid generate request; override any field. */
export function generate(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'generate',
    id: jobId(),
    prompt: 'red knight with a sword',
    model: 'sdxl_base_1.0',
    size: [128, 128],
    steps: 4,
    cfg_scale: 7.5,
    ...overrides,
  };
}

/** A temp output dir per test, removed by the returned cleanup (test/support/temp-dir.ts). */
export async function tempDir(
  prefix = 'dgx-worker-',
): Promise<{ dir: string; remove: () => Promise<void> }> {
  const { dir, remove } = ownedTempDir(prefix);
  return { dir, remove: async () => remove() };
}
