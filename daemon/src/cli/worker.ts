import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.js';
import { startWorker } from '../embedded-worker/index.js';
import { errorMessage } from '../errors.js';
import { createLogger } from '../log.js';
import type { CliCommand } from './command.js';

const usage = `Usage: dgx-pixels worker [options]

Runs the embedded DGX worker: the same ZeroMQ + MessagePack wire as the Python
worker (REP for requests, PUB for updates), with no GPU needed.

Options (each also settable in the config file, section "worker"):
  --engine procedural|comfyui  procedural draws sprites offline (default); comfyui drives a ComfyUI server
  --req ENDPOINT               REP endpoint (default tcp://127.0.0.1:5555)
  --pub ENDPOINT               PUB endpoint (default: the REQ port + 1)
  --comfyui-url URL            ComfyUI server for --engine comfyui (backend.comfyui_url; default http://127.0.0.1:8188)
  --slots N                    jobs run in parallel, one per GPU (default 1)
  --step-ms N                  procedural time per sampling step (default 20, about 1 s a job; 600 mimics a real 15-30 s run)
  --output-dir DIR             where images are written (default ./worker-outputs)
  --max-queue N                queued jobs before generate is refused as busy (default 1000)
  --write-ground-truth         procedural: also write <image>.truth.png and .truth.json (debug)
  --curve-key FILE             the worker's secret CURVE key (NAME.key from dgx-pixels keys generate, mode 0600):
                               REP and PUB encrypt and authenticate; daemons need its NAME.pub
  --allow-keys DIR             with --curve-key: folder of the .pub files of the daemons allowed in;
                               any other client gets nothing (each refused key is logged once)
  --bind-public                allow a non-loopback bind; needs --curve-key unless --insecure
  --insecure                   allow --bind-public without CURVE (anyone who reaches the ports can use the GPU
                               and read every prompt and result; a warning is logged)
  --config FILE                config file (default: DGX_PIXELS_CONFIG or the shipped config/mcp_config.yaml)

Prints "dgx-pixels worker ready req=... pub=..." on stderr once bound. SIGINT/SIGTERM end
running jobs with job_error messages and close the sockets.`;

const FLAGS = {
  engine: { type: 'string' },
  req: { type: 'string' },
  pub: { type: 'string' },
  'comfyui-url': { type: 'string' },
  slots: { type: 'string' },
  'step-ms': { type: 'string' },
  'output-dir': { type: 'string' },
  'max-queue': { type: 'string' },
  'write-ground-truth': { type: 'boolean' },
  'bind-public': { type: 'boolean' },
  'curve-key': { type: 'string' },
  'allow-keys': { type: 'string' },
  insecure: { type: 'boolean' },
  config: { type: 'string' },
} as const;

const num = (v: string | undefined): number | undefined =>
  v === undefined ? undefined : Number(v);
// `tcp://127.0.0.1:*` (any free port) is fine for a worker but not a config value: keep it out of loadConfig.
const anyPort = (v: string | undefined): boolean => v?.endsWith(':*') === true;

function pinoLevel(level: string): string {
  return level === 'warning' ? 'warn' : level === 'critical' ? 'fatal' : level;
}

async function run(argv: string[]): Promise<number> {
  let values: ReturnType<typeof parseArgs<{ options: typeof FLAGS; strict: true }>>['values'];
  try {
    values = parseArgs({
      args: argv,
      options: FLAGS,
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    process.stderr.write(`dgx-pixels worker: ${errorMessage(err)}; see dgx-pixels worker --help\n`);
    return 2;
  }
  const flag = (key: string, name: string, value: unknown): Record<string, [string, unknown]> =>
    value === undefined ? {} : { [key]: [name, value] };
  const loaded = loadConfig({
    configPath: values.config,
    flags: {
      ...flag('worker.engine', '--engine', values.engine),
      ...flag('worker.req', '--req', anyPort(values.req) ? undefined : values.req),
      ...flag('worker.pub', '--pub', anyPort(values.pub) ? undefined : values.pub),
      ...flag('backend.comfyui_url', '--comfyui-url', values['comfyui-url']),
      ...flag('worker.slots', '--slots', num(values.slots)),
      ...flag('worker.step_ms', '--step-ms', num(values['step-ms'])),
      ...flag('worker.output_dir', '--output-dir', values['output-dir']),
      ...flag('worker.max_queue', '--max-queue', num(values['max-queue'])),
      ...flag('worker.write_ground_truth', '--write-ground-truth', values['write-ground-truth']),
      ...flag('worker.bind_public', '--bind-public', values['bind-public']),
      ...flag('worker.curve_key_file', '--curve-key', values['curve-key']),
      ...flag('worker.allow_keys_dir', '--allow-keys', values['allow-keys']),
      ...flag('worker.insecure', '--insecure', values.insecure),
    },
  });
  const { config } = loaded;
  const logger = createLogger(pinoLevel(config.logging.level));
  for (const w of loaded.warnings) logger.warn(w);
  const w = config.worker;
  const worker = await startWorker({
    engine: w.engine,
    req: anyPort(values.req) ? (values.req as string) : w.req,
    ...(anyPort(values.pub)
      ? { pub: values.pub as string }
      : w.pub === undefined
        ? {}
        : { pub: w.pub }),
    slots: w.slots,
    stepMs: w.step_ms,
    outputDir: w.output_dir,
    maxQueue: w.max_queue,
    bindPublic: w.bind_public,
    insecure: w.insecure,
    ...(w.curve_key_file === undefined ? {} : { curveKeyFile: w.curve_key_file }),
    ...(w.allow_keys_dir === undefined ? {} : { allowKeysDir: w.allow_keys_dir }),
    writeGroundTruth: w.write_ground_truth,
    ...(config.backend.comfyui_url === undefined ? {} : { comfyuiUrl: config.backend.comfyui_url }),
    workflowDir: config.generation.workflow_dir,
    workflow: config.generation.default_workflow,
    logger,
  });
  process.stderr.write(
    `dgx-pixels worker ready req=${worker.reqEndpoint} pub=${worker.pubEndpoint} engine=${worker.engine} ` +
      `slots=${worker.slots} output=${worker.outputDir}` +
      `${worker.curvePublicKey === undefined ? '' : ` curve=${worker.curvePublicKey}`}\n`,
  );
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        process.stderr.write(`dgx-pixels worker: second ${signal}, exiting without cleanup\n`);
        process.exit(130);
      }
      stopping = true;
      process.stderr.write(`dgx-pixels worker: ${signal} received, stopping\n`);
      worker.close().then(
        () => resolve(0),
        (err: unknown) => {
          process.stderr.write(`dgx-pixels worker: shutdown failed: ${errorMessage(err)}\n`);
          resolve(1);
        },
      );
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

export const command: CliCommand = {
  name: 'worker',
  summary: 'run the embedded DGX worker (procedural sprites offline, or drive ComfyUI)',
  usage,
  run,
};
