/**
 * The cost of CURVE (run: npx tsx test/bench/curve.bench.ts). Two embedded workers in this
 * process, identical but for CURVE (key files + ZAP allow-list), each with a WorkerClient
 * (CURVE client keys for the encrypted one). Measured alternately in rounds, so machine noise
 * hits both alike:
 *  - ping round trip (WorkerClient.ping), p50 and p99;
 *  - one 1024×1024 job, 30 steps, step-ms 0 (procedural render + PNG encode), the PNG sent
 *    inline in job_complete over PUB: generate → result in hand, median.
 * Goals (issue 17): round trip ≤ 1.5×, job ≤ 1.05× plaintext.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWorker } from '../../daemon/src/embedded-worker/index.js';
import { WorkerClient } from '../../daemon/src/worker-client/worker-client.js';
import { curveFixture } from '../support/curve.js';

const ROUNDS = 10;
const PINGS_PER_ROUND = 200;
const JOBS_PER_ROUND = 2;
const out = (line: string) => process.stdout.write(`${line}\n`); // stdout-ok: the bench report

const keys = curveFixture();
const outputDir = mkdtempSync(join(tmpdir(), 'dgx-bench-curve-'));
const common = { req: 'tcp://127.0.0.1:*', stepMs: 0, outputDir, maxQueue: 1000 };
const plainWorker = await startWorker(common);
const curveWorker = await startWorker({
  ...common,
  curveKeyFile: keys.workerKey,
  allowKeysDir: keys.allowDir,
});
const clientFor = (w: typeof plainWorker, curve: boolean) =>
  new WorkerClient({
    req: w.reqEndpoint,
    pub: w.pubEndpoint,
    curve: curve ? keys.client() : undefined,
    requestTimeoutMs: 10_000,
    pingTimeoutMs: 10_000,
  });
const clients = { plaintext: clientFor(plainWorker, false), curve: clientFor(curveWorker, true) };

async function job(c: WorkerClient, i: number): Promise<number> {
  const t0 = performance.now();
  const tracker = await c.generate({
    prompt: `hero ${i % 5}`,
    model: 'm',
    size: [1024, 1024],
    steps: 30,
    cfgScale: 7.5,
    seed: i,
  });
  const result = await tracker.result;
  if (result.status !== 'completed' || result.image === undefined)
    throw new Error(`bench job ended ${result.status}`);
  return performance.now() - t0;
}

const samples = {
  ping: { plaintext: [] as number[], curve: [] as number[] },
  job: { plaintext: [] as number[], curve: [] as number[] },
};
let bytes = 0;
for (const c of Object.values(clients)) {
  for (let i = 0; i < 100; i++) await c.ping();
  await job(c, 0);
}
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? (['plaintext', 'curve'] as const) : (['curve', 'plaintext'] as const);
  for (const name of order) {
    for (let i = 0; i < PINGS_PER_ROUND; i++) samples.ping[name].push(await clients[name].ping());
    for (let i = 0; i < JOBS_PER_ROUND; i++)
      samples.job[name].push(await job(clients[name], r * 10 + i));
  }
}
{
  const t = await clients.plaintext.generate({
    prompt: 'hero 1',
    model: 'm',
    size: [1024, 1024],
    steps: 30,
    cfgScale: 7.5,
    seed: 1,
  });
  const res = await t.result;
  bytes = res.status === 'completed' ? (res.image?.length ?? 0) : 0;
}
for (const c of Object.values(clients)) c.close();
await plainWorker.close();
await curveWorker.close();
rmSync(outputDir, { recursive: true, force: true });
keys.remove();

const q = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? Number.NaN;
};
const us = (ms: number) => `${Math.round(ms * 1000)} µs`.padStart(9);
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`.padStart(7);
const pp = samples.ping.plaintext;
const pc = samples.ping.curve;
const jp = samples.job.plaintext;
const jc = samples.job.curve;
out(`CURVE vs plaintext, embedded worker on loopback, alternating rounds (${ROUNDS})`);
out('');
out(`ping round trip (WorkerClient.ping), ${pp.length} each   p50        p99`);
out(`plaintext (baseline)                      ${us(q(pp, 0.5))}  ${us(q(pp, 0.99))}`);
out(`CURVE                                     ${us(q(pc, 0.5))}  ${us(q(pc, 0.99))}`);
out(
  `ratio (goal ≤ 1.5×)                       ${ratio(q(pc, 0.5), q(pp, 0.5))}    ${ratio(q(pc, 0.99), q(pp, 0.99))}`,
);
out('');
out(
  `1024² job, 30 steps, step-ms 0, PNG inline (${(bytes / 1024).toFixed(0)} KiB), ${jp.length} each   median`,
);
out(`plaintext (baseline)                      ${q(jp, 0.5).toFixed(1).padStart(7)} ms`);
out(`CURVE                                     ${q(jc, 0.5).toFixed(1).padStart(7)} ms`);
out(`ratio (goal ≤ 1.05×)                      ${ratio(q(jc, 0.5), q(jp, 0.5))}`);
