import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { type Proc, spawnCli } from './reliability-procs.js';

/**
 * `dgx-pixels serve` (stdio) as a child process driven with raw JSON-RPC lines,
 * so a test can SIGKILL it mid-call or close its stdin (the Bevy side going away).
 */
export interface Serve extends Proc {
  /** tools/call; rejects after `timeoutMs` naming the tool. */
  call(name: string, args: Record<string, unknown>, timeoutMs?: number): Promise<CallToolResult>;
  /** Any JSON-RPC request. */
  request(method: string, params: Record<string, unknown>, timeoutMs?: number): Promise<unknown>;
  /** End stdin (EOF). */
  closeStdin(): void;
}

export async function spawnServe(
  args: string[],
  env: Record<string, string> = {},
  user: { uid?: number; gid?: number } = {},
): Promise<Serve> {
  const p = spawnCli(['serve', ...args], { stdin: true, env, ...user });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let buf = '';
  p.proc.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buf += chunk;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let msg: { id?: number; result?: unknown; error?: { message: string } };
      try {
        msg = JSON.parse(line);
      } catch {
        throw new Error(`serve wrote a non-JSON line on stdout: ${line.slice(0, 200)}`);
      }
      if (typeof msg.id !== 'number') continue; // notification
      const waiter = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) waiter?.reject(new Error(msg.error.message));
      else waiter?.resolve(msg.result);
    }
  });
  p.proc.stdin?.on('error', () => undefined); // EPIPE after a kill
  void p.exited.then(({ code, signal }) => {
    for (const [id, waiter] of pending) {
      pending.delete(id);
      waiter.reject(new Error(`serve exited (code ${code}, signal ${signal}) before answering`));
    }
  });
  const request = (method: string, params: Record<string, unknown>, timeoutMs = 60_000) => {
    const id = nextId++;
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(
          new Error(
            `serve: no answer to ${method} ${JSON.stringify(params).slice(0, 120)} within ${timeoutMs} ms; stderr: ${p.stderr().slice(-1500)}`,
          ),
        );
      }, timeoutMs);
      pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      p.proc.stdin?.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    });
  };
  await request(
    'initialize',
    {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: 'reliability', version: '1.0.0' },
    },
    20_000,
  );
  p.proc.stdin?.write(
    `${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`,
  );
  return {
    ...p,
    request,
    call: async (name, args, timeoutMs) =>
      (await request('tools/call', { name, arguments: args }, timeoutMs)) as CallToolResult,
    closeStdin: () => p.proc.stdin?.end(),
  };
}
