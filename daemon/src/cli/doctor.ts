import { constants } from 'node:fs';
import { access, mkdtemp, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Subscriber } from 'zeromq';
import {
  type LoadedConfig,
  loadConfig,
  type WorkerEndpoint,
  workerEndpoints,
} from '../config/load.js';
import type { Config } from '../config/schema.js';
import { isLoopbackHost, splitEndpoint } from '../embedded-worker/endpoints.js';
import { errorMessage, isDaemonError } from '../errors.js';
import { silentLogger } from '../log.js';
import {
  type CurveClientKeys,
  curveSocketOptions,
  loadCurveClient,
  watchHandshake,
} from '../worker-client/curve-link.js';
import { WorkerClient } from '../worker-client/worker-client.js';
import type { CliCommand } from './command.js';

const usage = `Usage: dgx-pixels doctor [options]

Prints the resolved configuration with where each value came from, then checks
what the daemon needs: every DGX worker answers (ping, status, list_models) and
its PUB endpoint accepts a connection, whether each link is encrypted (CURVE)
and with whose key (a plaintext link to a non-loopback address is a warning), ComfyUI answers GET /system_stats (when
backend.comfyui_url is set), the assets and state directories are writable.
Exit code 0 when everything needed is there, 1 when something is missing (the
fix is on its line), 2 when the configuration itself is invalid.

Options:
  --config FILE         config file (default: DGX_PIXELS_CONFIG or the shipped config/mcp_config.yaml)
  --zmq-endpoint E      worker REQ endpoint (backend.zmq_endpoint)
  --comfyui-url URL     ComfyUI server (backend.comfyui_url)
  --assets DIR          the Bevy project's assets directory (deployment.bevy_assets_base)
  --json                one JSON object on stdout instead of text`;

type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';
interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
}

const FLAGS = {
  config: { type: 'string' },
  'zmq-endpoint': { type: 'string' },
  'comfyui-url': { type: 'string' },
  assets: { type: 'string' },
  json: { type: 'boolean' },
} as const;

const write = (text: string) => process.stdout.write(text); // stdout-ok: the command's report

/** The link line: encrypted or not, whose key; loads the key files (a bad one is a FAIL). */
function checkLink(e: WorkerEndpoint): { check: Check; keys?: CurveClientKeys } {
  const name = `link ${e.name}`;
  if (e.curve !== undefined) {
    try {
      const keys = loadCurveClient(e.curve);
      return {
        keys,
        check: {
          name,
          status: 'ok',
          detail:
            `encrypted (CURVE) with this daemon's key ${keys.clientKeyFile} (public ${keys.publicKey}, from ${e.curve.key}.client_key_file); ` +
            `worker key ${keys.serverKey} from ${keys.serverKeyFile}`,
        },
      };
    } catch (err) {
      return { check: { name, status: 'fail', detail: errorMessage(err) } };
    }
  }
  const hosts = [e.req, e.pub].map((x) => {
    try {
      return splitEndpoint(x, 'worker').host;
    } catch {
      return x;
    }
  });
  if (hosts.every(isLoopbackHost))
    return {
      check: {
        name,
        status: 'ok',
        detail:
          'plaintext on loopback (not encrypted; fine on this machine or through an SSH tunnel)',
      },
    };
  return {
    check: {
      name,
      status: 'warn',
      detail:
        `plaintext to a non-loopback address (${e.req}): anyone on the network path can read every prompt and result ` +
        'and use the worker. For the embedded worker set backend.curve (dgx-pixels keys generate; worker --curve-key/--allow-keys); ' +
        'for the Python worker use an SSH tunnel to its loopback ports (README, "Remote worker")',
    },
  };
}

async function checkWorker(config: Config, e: WorkerEndpoint): Promise<Check[]> {
  const b = config.backend;
  const link = checkLink(e);
  if (link.check.status === 'fail') return [link.check];
  const client = new WorkerClient({
    name: e.name,
    req: e.req,
    pub: e.pub,
    curve: link.keys,
    pingTimeoutMs: b.ping_timeout_ms,
    requestTimeoutMs: b.request_timeout_ms,
    maxRetries: 0,
    logger: silentLogger,
  });
  const label = `worker ${e.name}`;
  try {
    const [firstMs, pubOk] = await Promise.all([
      client.ping(),
      pubAccepts(e.pub, b.ping_timeout_ms, link.keys),
    ]);
    // the first ping pays for the TCP connect and ZMTP handshake; report a warm round trip
    const pingMs = Math.min(firstMs, await client.ping());
    const status = await client.status(b.request_timeout_ms, 0);
    const models = await client.listModels();
    const kinds = ['checkpoint', 'lora', 'vae'].map(
      (k) => `${k} ${models.filter((m) => m.model_type === k).length}`,
    );
    const jobStatus = await client.jobStatus('00000000-0000-0000-0000-000000000000').then(
      (r) => (r === undefined ? 'no' : 'yes'),
      (err: unknown) => (isDaemonError(err, 'JOB_NOT_FOUND') ? 'yes' : 'unknown'),
    );
    const checks: Check[] = [
      link.check,
      {
        name: label,
        status: 'ok',
        detail:
          `v${status.version}, ping ${pingMs.toFixed(1)} ms, queue ${status.queue_size}, active ${status.active_jobs}, ` +
          `up ${status.uptime_s} s; ${models.length} models (${kinds.join(', ')}); job_status extension: ${jobStatus}`,
      },
      pubOk === true
        ? { name: `updates ${e.pub}`, status: 'ok', detail: 'PUB endpoint accepts SUB connections' }
        : {
            name: `updates ${e.pub}`,
            status: 'fail',
            detail:
              pubOk === false
                ? `no PUB socket accepted a connection within ${b.ping_timeout_ms} ms; set backend.zmq_pub_endpoint (or the worker's pub) — it defaults to the REQ port + 1`
                : pubOk,
          },
    ];
    if (models.length === 0)
      checks.push({
        name: label,
        status: 'warn',
        detail: 'the worker lists no models; check its ComfyUI models directory',
      });
    return checks;
  } catch (err) {
    return [link.check, { name: label, status: 'fail', detail: errorMessage(err) }];
  } finally {
    client.close();
  }
}

/**
 * True when something accepts a ZeroMQ connection (and its handshake) at `endpoint` within
 * `timeoutMs`; the refusal text when it turned the handshake down; false when nothing answered.
 */
async function pubAccepts(
  endpoint: string,
  timeoutMs: number,
  keys: CurveClientKeys | undefined,
): Promise<boolean | string> {
  const sub = new Subscriber({ linger: 0, ...curveSocketOptions(keys) });
  try {
    return await new Promise<boolean | string>((res) => {
      const timer = setTimeout(() => res(false), timeoutMs);
      sub.events.on('handshake', () => {
        clearTimeout(timer);
        res(true);
      });
      watchHandshake(sub, endpoint, keys, (err) => {
        clearTimeout(timer);
        res(err.message);
      });
      sub.connect(endpoint);
    });
  } finally {
    sub.close();
  }
}

async function checkComfyUi(url: string | undefined): Promise<Check> {
  if (url === undefined) {
    return {
      name: 'comfyui',
      status: 'skip',
      detail:
        'backend.comfyui_url not set (needed only for the /view image fallback and --engine comfyui)',
    };
  }
  const target = new URL('system_stats', url.endsWith('/') ? url : `${url}/`);
  try {
    const res = await fetch(target, { signal: AbortSignal.timeout(1000) });
    if (res.ok)
      return { name: `comfyui ${url}`, status: 'ok', detail: `GET /system_stats → ${res.status}` };
    return {
      name: `comfyui ${url}`,
      status: 'fail',
      detail: `GET ${target.href} → HTTP ${res.status}; is this a ComfyUI server? fix backend.comfyui_url`,
    };
  } catch (err) {
    const why = errorMessage((err as { cause?: unknown }).cause ?? err);
    return {
      name: `comfyui ${url}`,
      status: 'fail',
      detail: `GET ${target.href} failed (${why}); start ComfyUI or fix/unset backend.comfyui_url`,
    };
  }
}

/** Writable by actually creating and removing a temp dir (access() misses read-only mounts). */
async function checkWritable(
  name: string,
  dir: string | undefined,
  key: string,
  mayNotExist: boolean,
): Promise<Check> {
  if (dir === undefined) {
    return {
      name,
      status: 'warn',
      detail: `${key} is not set; set it (--assets DIR or DGX_PIXELS_BEVY_ASSETS) before deploying sprites`,
    };
  }
  const abs = resolve(dir);
  const exists = await stat(abs).then(
    (s) => s.isDirectory(),
    () => false,
  );
  const probeIn = exists ? abs : mayNotExist ? dirname(abs) : undefined;
  if (probeIn === undefined)
    return { name, status: 'fail', detail: `${abs} does not exist; create it or fix ${key}` };
  try {
    await access(probeIn, constants.W_OK);
    const probe = await mkdtemp(join(probeIn, '.dgx-pixels-doctor-'));
    await rm(probe, { recursive: true, force: true });
    return {
      name,
      status: 'ok',
      detail: exists ? `${abs} is writable` : `${abs} will be created (parent is writable)`,
    };
  } catch (err) {
    return {
      name,
      status: 'fail',
      detail: `${probeIn} is not writable (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}); fix its permissions or ${key}`,
    };
  }
}

function configRows(loaded: LoadedConfig): [key: string, value: string, source: string][] {
  const rows: [string, string, string][] = [];
  for (const [section, value] of Object.entries(loaded.config)) {
    const entries =
      value !== null && typeof value === 'object' && !Array.isArray(value)
        ? Object.entries(value)
        : [[undefined, value] as const];
    for (const [key, v] of entries) {
      const dotted = key === undefined ? section : `${section}.${key}`;
      const shown =
        dotted === 'mcp_server.auth_token' && v !== undefined
          ? '"<set>"'
          : (JSON.stringify(v) ?? 'unset');
      rows.push([dotted, shown, loaded.sources[dotted] ?? 'default']);
    }
  }
  return rows;
}

async function run(argv: string[]): Promise<number> {
  let values: {
    config?: string;
    'zmq-endpoint'?: string;
    'comfyui-url'?: string;
    assets?: string;
    json?: boolean;
  };
  try {
    values = parseArgs({
      args: argv,
      options: FLAGS,
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    process.stderr.write(`dgx-pixels doctor: ${errorMessage(err)}\n\n${usage}\n`);
    return 2;
  }
  let loaded: LoadedConfig;
  try {
    loaded = loadConfig({
      configPath: values.config,
      flags: {
        'backend.zmq_endpoint': ['--zmq-endpoint', values['zmq-endpoint']],
        'backend.comfyui_url': ['--comfyui-url', values['comfyui-url']],
        'deployment.bevy_assets_base': ['--assets', values.assets],
      },
    });
  } catch (err) {
    if (values.json) write(`${JSON.stringify({ ok: false, error: errorMessage(err) })}\n`);
    else process.stderr.write(`dgx-pixels doctor: ${errorMessage(err)}\n`);
    return 2;
  }
  const { config } = loaded;
  const groups = await Promise.all([
    ...workerEndpoints(config).map((e) => checkWorker(config, e)),
    checkComfyUi(config.backend.comfyui_url).then((c) => [c]),
    checkWritable(
      'assets',
      config.deployment.bevy_assets_base,
      'deployment.bevy_assets_base',
      false,
    ).then((c) => [c]),
    checkWritable('state', config.state_dir, 'state_dir', true).then((c) => [c]),
  ]);
  const checks = groups.flat();
  for (const w of loaded.warnings) checks.unshift({ name: 'config', status: 'warn', detail: w });
  const ok = checks.every((c) => c.status !== 'fail');
  if (values.json) {
    const rows = configRows(loaded).map(([key, value, source]) => ({
      key,
      value: JSON.parse(value === 'unset' ? 'null' : value),
      source,
    }));
    write(`${JSON.stringify({ ok, file: loaded.file ?? null, config: rows, checks }, null, 2)}\n`);
    return ok ? 0 : 1;
  }
  const rows = configRows(loaded);
  const keyWidth = Math.max(...rows.map((r) => r[0].length));
  const valueWidth = Math.min(48, Math.max(...rows.map((r) => r[1].length)));
  write(`Configuration (file: ${loaded.file ?? 'none'}; source "file" means that file)\n`);
  for (const [key, value, source] of rows) {
    const shown = value.length > valueWidth ? `${value.slice(0, valueWidth - 1)}…` : value;
    const from = loaded.file !== undefined && source === `file ${loaded.file}` ? 'file' : source;
    write(`  ${key.padEnd(keyWidth)}  ${shown.padEnd(valueWidth)}  ${from}\n`);
  }
  write('\nChecks\n');
  const nameWidth = Math.max(...checks.map((c) => c.name.length));
  for (const c of checks)
    write(`  ${c.status.toUpperCase().padEnd(4)}  ${c.name.padEnd(nameWidth)}  ${c.detail}\n`);
  write(
    ok ? '\nAll needed checks passed.\n' : '\nSome checks failed: see the fix on each FAIL line.\n',
  );
  return ok ? 0 : 1;
}

export const command: CliCommand = {
  name: 'doctor',
  summary: 'show the resolved config and check workers, ComfyUI and the assets directory',
  usage,
  run,
};
