/**
 * Embedded worker throughput and footprint (run: npx tsx test/bench/worker.bench.ts).
 *  - REQ/REP round trips: worker `ping` vs a bare zeromq REP echo loop (same run).
 *  - jobs/s sustained, procedural engine at 1024×1024, 30 steps: step-ms 0 and the
 *    default 20, one slot and two; baseline = the engine's own render+encode time.
 *  - idle RSS of a worker process vs a process holding a bare REP socket (same loader).
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { decode } from '@msgpack/msgpack';
import { Reply, Request, Subscriber } from 'zeromq';
import {
  encodeLikeModel,
  renderProcedural,
} from '../../daemon/src/embedded-worker/engines/procedural/index.js';
import { startWorker } from '../../daemon/src/embedded-worker/index.js';
import { encode } from '../../daemon/src/protocol/codec.js';
import { tempDir } from '../embedded-worker/wire-client.js';

const out = (line: string) => process.stdout.write(`${line}\n`);
const rows: [string, string, string, string][] = [];

async function roundTrips(endpoint: string, n: number): Promise<number> {
  const req = new Request({ linger: 0 });
  req.connect(endpoint);
  const frame = encode({ type: 'ping' });
  for (let i = 0; i < 50; i++) {
    await req.send(frame);
    await req.receive();
  }
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    await req.send(frame);
    await req.receive();
  }
  const s = (performance.now() - t0) / 1000;
  req.close();
  return n / s;
}

async function echoBaseline(n: number): Promise<number> {
  const rep = new Reply({ linger: 0 });
  await rep.bind('tcp://127.0.0.1:*');
  void (async () => {
    try {
      for await (const [msg] of rep) await rep.send(msg as Buffer);
    } catch {
      // closed
    }
  })();
  const rate = await roundTrips(rep.lastEndpoint as string, n);
  rep.close();
  return rate;
}

async function jobsPerSecond(stepMs: number, slots: number, jobs: number): Promise<number> {
  const tmp = await tempDir('dgx-bench-');
  const worker = await startWorker({
    req: 'tcp://127.0.0.1:*',
    outputDir: tmp.dir,
    stepMs,
    slots,
    maxQueue: 10_000,
  });
  const sub = new Subscriber({ linger: 0 });
  sub.connect(worker.pubEndpoint);
  sub.subscribe();
  await new Promise((r) => setTimeout(r, 300));
  const req = new Request({ linger: 0 });
  req.connect(worker.reqEndpoint);
  let done = 0;
  const finished = new Promise<void>((resolve) => {
    void (async () => {
      for await (const [f] of sub) {
        const m = decode(f as Buffer) as { type: string };
        if (m.type === 'job_complete' || m.type === 'job_error') {
          done++;
          if (done === jobs) return resolve();
        }
      }
    })();
  });
  const t0 = performance.now();
  for (let i = 0; i < jobs; i++) {
    await req.send(
      encode({
        type: 'generate',
        id: `bench-${i}`,
        prompt: `hero ${i % 5}`,
        model: 'm',
        size: [1024, 1024],
        steps: 30,
        cfg_scale: 7.5,
        seed: i,
      }),
    );
    await req.receive();
  }
  await finished;
  const rate = jobs / ((performance.now() - t0) / 1000);
  req.close();
  sub.close();
  await worker.close();
  await tmp.remove();
  return rate;
}

async function renderOnly(n: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const pic = renderProcedural({ prompt: `hero ${i % 5}`, seed: i, width: 1024, height: 1024 });
    await encodeLikeModel(pic.image);
  }
  return n / ((performance.now() - t0) / 1000);
}

async function idleRssMb(script: string): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: new URL('../..', import.meta.url).pathname,
    stdio: ['ignore', 'pipe', 'inherit'],
  });

  child.on('exit', (code, signal) => {
    if (signal !== 'SIGKILL')
      process.stderr.write(`idle child exited early: code ${code} signal ${signal}\n`);
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('READY') && resolve());
    child.on('exit', () => reject(new Error('child exited before READY')));
  });
  await new Promise((r) => setTimeout(r, 1500)); // idle
  const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
  child.kill('SIGKILL');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) / 1024;
}

const note = (what: string) =>
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${what}\n`);
const fmt = (v: number, unit: string) => `${v.toFixed(v < 10 ? 2 : 0)} ${unit}`;

const echo = await echoBaseline(2000);
{
  const tmp = await tempDir('dgx-bench-');
  const w = await startWorker({ req: 'tcp://127.0.0.1:*', outputDir: tmp.dir });
  const ping = await roundTrips(w.reqEndpoint, 2000);
  await w.close();
  await tmp.remove();
  rows.push([
    'worker ping round trips',
    fmt(ping, '/s'),
    `bare REP echo ${fmt(echo, '/s')}`,
    (ping / echo).toFixed(2),
  ]);
}
note('render only');
const engine = await renderOnly(3);
for (const [stepMs, slots, jobs] of [
  [0, 1, 5],
  [0, 2, 6],
  [20, 1, 4],
] as const) {
  note(`jobs/s step-ms ${stepMs} slots ${slots}`);
  const rate = await jobsPerSecond(stepMs, slots, jobs);
  rows.push([
    `jobs/s 1024², 30 steps, step-ms ${stepMs}, slots ${slots}`,
    fmt(rate, 'jobs/s'),
    `render+encode alone ${fmt(engine, 'jobs/s')}`,
    (rate / engine).toFixed(2),
  ]);
}
note('idle rss');
const bare = await idleRssMb(
  "import { Reply } from 'zeromq'; const r = new Reply(); await r.bind('tcp://127.0.0.1:*'); console.log('READY'); for await (const [m] of r) await r.send(m);",
);
const worker = await idleRssMb(
  "import { startWorker } from './daemon/src/embedded-worker/index.ts'; await startWorker({ req: 'tcp://127.0.0.1:*', outputDir: '/tmp/dgx-bench-idle' }); console.log('READY');",
);
rows.push([
  'idle RSS of a worker process',
  fmt(worker, 'MB'),
  `bare REP process ${fmt(bare, 'MB')}`,
  (worker / bare).toFixed(2),
]);

const widths = [0, 1, 2, 3].map((i) =>
  Math.max(
    ...[['measured', 'value', 'baseline (same run)', 'ratio'], ...rows].map(
      (r) => String(r[i]).length,
    ),
  ),
);
const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i] as number)).join(' | ');
out(line(['measured', 'value', 'baseline (same run)', 'ratio']));
out(widths.map((w) => '-'.repeat(w)).join('-|-'));
for (const r of rows) out(line(r));
process.exit(0);
