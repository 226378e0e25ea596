import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { startWorker } from '../../daemon/src/embedded-worker/index.js';
import { silentLogger } from '../../daemon/src/log.js';

/**
 * MCP overhead of the daemon over stdio, each beside baselines measured in the same run:
 *  1. tool-call round trip (p50/p99) of a validation-error call and get_status, beside a
 *     hand-written JSON-RPC echo (the floor) and @modelcontextprotocol/server-filesystem
 *     answering list_allowed_directories. Target: ≤ 1.5× the filesystem server.
 *  2. cold start (spawn → first tools/list answered) beside a bare SDK server with one tool.
 *     Target ≤ 1.3×.
 *  3. idle RSS after that first tools/list, same baseline. Target ≤ 1.3×.
 * All servers are driven by the same raw newline-JSON-RPC client, so only the server differs.
 * get_status asks the embedded worker (ZeroMQ, in this process) at most every 0.5 s; calls in between reuse that answer.
 * Run: npx tsx test/bench/mcp-overhead.bench.ts   (needs `npm run build` first)
 */

const ROOT = resolve(import.meta.dirname, '../..');
const CALLS = 400;
const WARMUP = 50;
const STARTS = 8;

class RawClient {
  private buf = '';
  private nextId = 1;
  private readonly waiting = new Map<number, (msg: unknown) => void>();
  constructor(readonly child: ChildProcessByStdio<Writable, Readable, null>) {
    child.stdout.on('data', (chunk: Buffer) => {
      this.buf += chunk.toString();
      let nl = this.buf.indexOf('\n');
      while (nl !== -1) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        const msg = JSON.parse(line) as { id?: number };
        if (msg.id !== undefined) this.waiting.get(msg.id)?.(msg);
        nl = this.buf.indexOf('\n');
      }
    });
  }
  request(method: string, params: unknown = {}): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolveReply, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${method} got no reply within 30 s`)),
        30_000,
      );
      this.waiting.set(id, (msg) => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolveReply(msg);
      });
      this.child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    });
  }
  async initialize(): Promise<void> {
    await this.request('initialize', {
      protocolVersion: '2025-11-25',
      capabilities: {},
      clientInfo: { name: 'bench', version: '1' },
    });
    this.child.stdin.write(
      `${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`,
    );
  }
  async close(): Promise<void> {
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.stdin.end();
    const kill = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(kill);
  }
}

interface Server {
  name: string;
  args: string[];
  env?: Record<string, string>;
}

function start(server: Server): RawClient {
  const child = spawn(process.execPath, server.args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...server.env },
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  return new RawClient(child);
}

type Lat = { p50: number; p99: number };

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/**
 * p50/p99 of sequential calls, the cases interleaved (one call of each per round) so the
 * load of this shared machine falls on every server alike.
 */
async function callLatencies(
  cases: { server: Server; method: string; params: unknown }[],
): Promise<{ p50: number; p99: number }[]> {
  const clients = cases.map((c) => start(c.server));
  await Promise.all(clients.map((c) => c.initialize()));
  const times = cases.map(() => [] as number[]);
  for (let i = 0; i < WARMUP + CALLS; i++) {
    for (const [k, c] of cases.entries()) {
      const t0 = performance.now();
      await (clients[k] as RawClient).request(c.method, c.params);
      if (i >= WARMUP) (times[k] as number[]).push(performance.now() - t0);
    }
  }
  await Promise.all(clients.map((c) => c.close()));
  return times.map((t) => {
    t.sort((a, b) => a - b);
    return { p50: pct(t, 50), p99: pct(t, 99) };
  });
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? Number.NaN);
}

async function coldStart(server: Server): Promise<{ ms: number; rssMiB: number }> {
  const t0 = performance.now();
  const client = start(server);
  await client.initialize();
  await client.request('tools/list');
  const ms = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 500)); // idle: let start-up garbage settle
  const rssMiB = rssKiB(client.child.pid as number) / 1024;
  await client.close();
  return { ms, rssMiB };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const f = (x: number) => x.toFixed(2).padStart(8);
const r = (x: number) => `${x.toFixed(2)}×`.padStart(7);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'dgx-bench-mcp-'));
  const worker = await startWorker({
    req: 'tcp://127.0.0.1:*',
    engine: 'procedural',
    outputDir: join(dir, 'w'),
    logger: silentLogger,
  });
  const ours: Server = {
    name: 'dgx-pixels serve',
    args: [
      'daemon/dist/cli.js',
      'serve',
      '--state-dir',
      join(dir, 'state'),
      '--log-level',
      'error',
    ],
    env: {
      DGX_PIXELS_ZMQ_ENDPOINT: worker.reqEndpoint,
      DGX_PIXELS_ZMQ_PUB_ENDPOINT: worker.pubEndpoint,
    },
  };
  const echo: Server = { name: 'JSON-RPC echo (floor)', args: ['test/bench/echo-jsonrpc.mjs'] };
  const fs: Server = {
    name: 'server-filesystem',
    args: ['node_modules/@modelcontextprotocol/server-filesystem/dist/index.js', dir],
  };
  const bare: Server = {
    name: 'bare SDK server, 1 tool',
    args: ['test/bench/bare-sdk-server.mjs'],
  };
  try {
    const [floor, fsCall, invalid, status] = (await callLatencies([
      { server: echo, method: 'tools/call', params: { name: 'x', arguments: {} } },
      {
        server: fs,
        method: 'tools/call',
        params: { name: 'list_allowed_directories', arguments: {} },
      },
      {
        server: ours,
        method: 'tools/call',
        params: { name: 'generate_sprite', arguments: { prompt: 'ab' } },
      },
      { server: ours, method: 'tools/call', params: { name: 'get_status', arguments: {} } },
    ])) as [Lat, Lat, Lat, Lat];
    const lines = [
      `tool call over stdio, ${CALLS} sequential calls each after ${WARMUP} warm-up, servers interleaved (ms)`,
      `${'server / call'.padEnd(50)}     p50      p99  p50/fs  p99/fs`,
      `${'JSON-RPC echo (floor)'.padEnd(50)}${f(floor.p50)} ${f(floor.p99)} ${r(floor.p50 / fsCall.p50)} ${r(floor.p99 / fsCall.p99)}`,
      `${'server-filesystem list_allowed_directories'.padEnd(50)}${f(fsCall.p50)} ${f(fsCall.p99)} ${r(1)} ${r(1)}`,
      `${'dgx-pixels generate_sprite (validation error)'.padEnd(50)}${f(invalid.p50)} ${f(invalid.p99)} ${r(invalid.p50 / fsCall.p50)} ${r(invalid.p99 / fsCall.p99)}`,
      `${'dgx-pixels get_status (worker status ≤0.5 s old)'.padEnd(50)}${f(status.p50)} ${f(status.p99)} ${r(status.p50 / fsCall.p50)} ${r(status.p99 / fsCall.p99)}`,
      '',
    ];
    // Alternate the two servers so machine noise hits both alike.
    const oursStarts: { ms: number; rssMiB: number }[] = [];
    const bareStarts: { ms: number; rssMiB: number }[] = [];
    for (let i = 0; i < STARTS; i++) {
      bareStarts.push(await coldStart(bare));
      oursStarts.push(await coldStart(ours));
    }
    const [oMs, bMs] = [median(oursStarts.map((s) => s.ms)), median(bareStarts.map((s) => s.ms))];
    const [oRss, bRss] = [
      median(oursStarts.map((s) => s.rssMiB)),
      median(bareStarts.map((s) => s.rssMiB)),
    ];
    lines.push(
      `cold start (spawn → first tools/list) and idle RSS, median of ${STARTS}`,
      `${'server'.padEnd(50)}  start ms  RSS MiB`,
      `${'bare SDK server, 1 tool (baseline)'.padEnd(50)}${f(bMs)}  ${f(bRss)}`,
      `${'dgx-pixels serve (every tool, resources)'.padEnd(50)}${f(oMs)}  ${f(oRss)}`,
      `${'ratio (target ≤ 1.30×)'.padEnd(50)}${r(oMs / bMs).padStart(8)}  ${r(oRss / bRss).padStart(8)}`,
    );
    process.stdout.write(`${lines.join('\n')}\n`); // stdout-ok: the bench report
  } finally {
    await worker.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
