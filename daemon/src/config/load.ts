import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { DaemonError } from '../errors.js';
import { parseYamlWithLines, yaml } from '../yaml-document.js';
import { type Config, ConfigSchema, type CurveClientConfig } from './schema.js';

/**
 * Loads the configuration. Precedence, lowest first:
 *   defaults ← file (`--config` or DGX_PIXELS_CONFIG) ← env (DGX_PIXELS_*) ← CLI flags.
 * This module is the only reader of process.env for configuration.
 *
 * Env rule: `DGX_PIXELS_<SECTION>_<KEY>` in upper case sets `<section>.<key>`
 * (e.g. DGX_PIXELS_BACKEND_TIMEOUT_S=120, DGX_PIXELS_WORKER_SLOTS=2); values are
 * read as YAML scalars or flow collections (`true`, `300`, `[a, b]`). Aliases
 * kept from the seed are listed in ENV_ALIASES.
 */

/** The repository / npm package root (holds config/, shared/). */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const DEFAULT_CONFIG_FILE = resolve(PACKAGE_ROOT, 'config/mcp_config.yaml');

export const ENV_ALIASES: Readonly<Record<string, string>> = {
  DGX_PIXELS_ZMQ_ENDPOINT: 'backend.zmq_endpoint',
  DGX_PIXELS_ZMQ_PUB_ENDPOINT: 'backend.zmq_pub_endpoint',
  DGX_PIXELS_COMFYUI_URL: 'backend.comfyui_url',
  DGX_PIXELS_BEVY_ASSETS: 'deployment.bevy_assets_base',
  DGX_PIXELS_STATE_DIR: 'state_dir',
  DGX_PIXELS_LOG_LEVEL: 'logging.level',
};
/**
 * DGX_PIXELS_* variables that are not config keys: the config file's path, and the Bevy side's
 * own (the plugin's daemon command, its e2e switch). The daemon inherits the game's environment,
 * so refusing these would stop it from starting under the plugin.
 */
export const ENV_NOT_KEYS: ReadonlySet<string> = new Set([
  'DGX_PIXELS_CONFIG',
  'DGX_PIXELS_DAEMON',
  'DGX_PIXELS_DAEMON_CLI',
  'DGX_PIXELS_E2E',
]);

export type ConfigSource = 'default' | `file ${string}` | `env ${string}` | `flag ${string}`;

export interface LoadedConfig {
  config: Config;
  /** Where each set leaf key came from, by dotted key (`backend.timeout_s`). */
  sources: Record<string, ConfigSource>;
  /** The file read, if any. */
  file: string | undefined;
  /** Non-fatal findings (unknown keys ignored), each a full sentence. */
  warnings: string[];
}

export interface LoadOptions {
  /** Explicit file (`--config`); beats DGX_PIXELS_CONFIG and the shipped default. */
  configPath?: string | undefined;
  /** Read the shipped config/mcp_config.yaml when no file is named (default true). */
  useDefaultFile?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Dotted key → value, with the flag's name for `sources` (`{'backend.zmq_endpoint': ['--zmq-endpoint', v]}`). */
  flags?: Record<string, [flag: string, value: unknown]>;
}

type Tree = Record<string, unknown>;

function sectionKeys(): Map<string, Set<string> | null> {
  const shape = ConfigSchema.shape as Record<string, z.ZodType>;
  const out = new Map<string, Set<string> | null>();
  for (const [section, schema] of Object.entries(shape)) {
    // prefault/default wrappers hide the object; unwrap until we find a shape.
    let s: unknown = schema;
    for (let i = 0; i < 4 && s && typeof s === 'object' && !('shape' in s); i++) {
      const def = (s as { def?: { innerType?: unknown; in?: unknown } }).def;
      s = def?.innerType ?? def?.in;
    }
    const inner = s && typeof s === 'object' && 'shape' in s ? (s as { shape: Tree }).shape : null;
    out.set(section, inner ? new Set(Object.keys(inner)) : null);
  }
  return out;
}
const KEYS = sectionKeys();

function setDotted(tree: Tree, dotted: string, value: unknown): void {
  const [section, key] = dotted.split('.') as [string, string | undefined];
  if (key === undefined) {
    tree[section] = value;
    return;
  }
  tree[section] ??= {};
  (tree[section] as Tree)[key] = value;
}

function envKeyToDotted(name: string): string | undefined {
  const alias = ENV_ALIASES[name];
  if (alias) return alias;
  const rest = name.slice('DGX_PIXELS_'.length).toLowerCase();
  for (const [section, keys] of KEYS) {
    if (keys === null) {
      if (rest === section) return section;
      continue;
    }
    if (!rest.startsWith(`${section}_`)) continue;
    const key = rest.slice(section.length + 1);
    if (keys.has(key)) return `${section}.${key}`;
  }
  return undefined;
}

/** Words YAML reads as null or a boolean rather than as a string. */
const YAML_WORDS = new Set([
  'null',
  'Null',
  'NULL',
  'true',
  'True',
  'TRUE',
  'false',
  'False',
  'FALSE',
]);

function parseEnvValue(raw: string): unknown {
  // The usual values (an endpoint, a path, a level, a whole number) without loading the YAML
  // parser at start-up: plain strings YAML would read as the same string, and decimal integers.
  if (/^(0|-?[1-9][0-9]{0,14})$/.test(raw)) return Number(raw);
  if (/^[A-Za-z][A-Za-z0-9_./:@-]*$/.test(raw) && !raw.endsWith(':') && !YAML_WORDS.has(raw))
    return raw;
  const doc = yaml().parseDocument(raw);
  return doc.errors.length > 0 ? raw : doc.toJS();
}

/** A config file's data and the line of each section and `section.key`, for messages. */
export interface ConfigFileData {
  data: unknown;
  lines: Record<string, number>;
}

/**
 * The shipped default file parsed at build time (`npm run build` writes it beside this module),
 * keyed by the file's SHA-256: an unmodified default file is not parsed again at start-up.
 */
export interface DefaultConfigSnapshot extends ConfigFileData {
  sha256: string;
}

export const DEFAULT_SNAPSHOT_FILE = join(
  dirname(fileURLToPath(import.meta.url)),
  'default-config.json',
);

function readSnapshot(): DefaultConfigSnapshot | undefined {
  try {
    return JSON.parse(readFileSync(DEFAULT_SNAPSHOT_FILE, 'utf8')) as DefaultConfigSnapshot;
  } catch {
    return undefined; // not built (tests run the sources) or unreadable: parse the file
  }
}

/** SHA-256 of a config file's text, the snapshot's key. */
export function configTextHash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Data and lines of a config file: from the build's snapshot when `file` is the shipped default
 * and its text is the one snapshotted, else parsed (YAML, with positions).
 */
export function configFileData(
  file: string,
  text: string,
  snapshot: DefaultConfigSnapshot | undefined = file === DEFAULT_CONFIG_FILE
    ? readSnapshot()
    : undefined,
): ConfigFileData {
  if (snapshot !== undefined && snapshot.sha256 === configTextHash(text))
    return { data: snapshot.data, lines: snapshot.lines };
  return parseConfigText(file, text);
}

/** Parse a config file's text (YAML or JSON) with the line of each section and key. */
export function parseConfigText(file: string, text: string): ConfigFileData {
  const { doc, counter } = parseYamlWithLines(text, `config file ${file}`, 'CONFIG_INVALID');
  const data = (doc.toJS() ?? {}) as unknown;
  const lines: Record<string, number> = {};
  const lineOf = (node: unknown): number | undefined => {
    const range = (node as { range?: [number, number] } | undefined)?.range;
    return range ? counter.linePos(range[0]).line : undefined;
  };
  if (typeof data === 'object' && data !== null && !Array.isArray(data)) {
    for (const [section, value] of Object.entries(data as Tree)) {
      const line = lineOf(doc.get(section, true));
      if (line !== undefined) lines[section] = line;
      if (value === null || typeof value !== 'object' || Array.isArray(value)) continue;
      for (const key of Object.keys(value as Tree)) {
        const keyLine = lineOf(doc.getIn([section, key], true));
        if (keyLine !== undefined) lines[`${section}.${key}`] = keyLine;
      }
    }
  }
  return { data, lines };
}

function allKnownEnvNames(): string[] {
  const names = Object.keys(ENV_ALIASES);
  for (const [section, keys] of KEYS) {
    if (keys === null) names.push(`DGX_PIXELS_${section.toUpperCase()}`);
    else for (const k of keys) names.push(`DGX_PIXELS_${section}_${k}`.toUpperCase());
  }
  return names;
}

function closest(name: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = editDistance(name, c);
    if (d < bestScore) [best, bestScore] = [c, d];
  }
  return bestScore <= Math.max(2, name.length / 5) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j] as number;
      row[j] = Math.min(
        (row[j] as number) + 1,
        (row[j - 1] as number) + 1,
        prev + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      prev = tmp;
    }
  }
  return row[b.length] as number;
}

function sectionHint(section: string): string {
  const hint = closest(section, [...KEYS.keys()]);
  return hint === undefined ? '' : `did you mean ${hint}? `;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const json = JSON.stringify(value);
  return json === undefined ? String(value) : json.length > 80 ? `${json.slice(0, 77)}...` : json;
}

/**
 * Resolve the configuration. Throws DaemonError('CONFIG_INVALID') whose message
 * names the key, where it came from (file and line, env var or flag), the bad
 * value and what is allowed.
 */
export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const tree: Tree = {};
  const sources: Record<string, ConfigSource> = {};
  const warnings: string[] = [];
  const lineOf = new Map<string, number>();

  // 1. file
  const explicit = options.configPath ?? env.DGX_PIXELS_CONFIG;
  const file =
    explicit !== undefined && explicit !== ''
      ? resolve(explicit)
      : options.useDefaultFile === false
        ? undefined
        : DEFAULT_CONFIG_FILE;
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new DaemonError(
        'CONFIG_INVALID',
        `cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}; ` +
          'check the path given with --config or DGX_PIXELS_CONFIG',
        { cause: err },
      );
    }
    const { data, lines } = configFileData(file, text);
    if (typeof data !== 'object' || data === null || Array.isArray(data)) {
      throw new DaemonError(
        'CONFIG_INVALID',
        `config file ${file} must hold a YAML mapping of sections (mcp_server, backend, ...)`,
      );
    }
    for (const [section, value] of Object.entries(data as Tree)) {
      const keys = KEYS.get(section);
      const sectionLine = lines[section];
      if (keys === undefined) {
        warnings.push(
          `unknown section "${section}" in ${file}${sectionLine ? `:${sectionLine}` : ''} was ignored; ${sectionHint(section)}known sections: ${[...KEYS.keys()].join(', ')}`,
        );
        continue;
      }
      if (keys === null || value === null || typeof value !== 'object' || Array.isArray(value)) {
        tree[section] = value;
        sources[section] = `file ${file}`;
        if (sectionLine) lineOf.set(section, sectionLine);
        continue;
      }
      for (const [key, v] of Object.entries(value as Tree)) {
        const line = lines[`${section}.${key}`];
        if (!keys.has(key)) {
          const hint = closest(key, [...keys]);
          warnings.push(
            `unknown key ${section}.${key} in ${file}${line ? `:${line}` : ''} was ignored${hint ? `; did you mean ${section}.${hint}?` : ''}`,
          );
          continue;
        }
        setDotted(tree, `${section}.${key}`, v);
        sources[`${section}.${key}`] = `file ${file}`;
        if (line) lineOf.set(`${section}.${key}`, line);
      }
    }
  }

  // 2. env
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('DGX_PIXELS_') || raw === undefined || ENV_NOT_KEYS.has(name)) continue;
    const dotted = envKeyToDotted(name);
    if (dotted === undefined) {
      const hint = closest(name, allKnownEnvNames());
      throw new DaemonError(
        'CONFIG_INVALID',
        `environment variable ${name} is not a config key${hint ? `; did you mean ${hint}?` : ''} ` +
          '(rule: DGX_PIXELS_<SECTION>_<KEY>, e.g. DGX_PIXELS_BACKEND_TIMEOUT_S); unset it or fix its name',
      );
    }
    setDotted(tree, dotted, parseEnvValue(raw));
    sources[dotted] = `env ${name}`;
  }

  // 3. flags
  for (const [dotted, [flag, value]] of Object.entries(options.flags ?? {})) {
    if (value === undefined) continue;
    setDotted(tree, dotted, value);
    sources[dotted] = `flag ${flag}`;
  }

  // parsed once per process: zod's compiled fast path would cost more to build than it saves
  const parsed = ConfigSchema.safeParse(tree, { jitless: true });
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const dotted = issue.path.slice(0, 2).join('.');
      const full = issue.path.join('.');
      const src = sources[dotted] ?? sources[String(issue.path[0])] ?? 'default';
      const where =
        src.startsWith('file ') && lineOf.has(dotted)
          ? `${src.slice(5)}:${lineOf.get(dotted)}`
          : src;
      const got = issue.path.reduce<unknown>(
        (v, k) => (v as Tree | undefined)?.[k as string],
        tree,
      );
      const allowed =
        'values' in issue && Array.isArray(issue.values)
          ? `; allowed: ${issue.values.join(', ')}`
          : '';
      return `config key ${full} (from ${where}) is invalid: ${issue.message}; got ${describe(got)}${allowed}`;
    });
    throw new DaemonError('CONFIG_INVALID', lines.join('\n'));
  }
  const config = parsed.data;
  // Relative workflow dir from the shipped default resolves against the package.
  if (!isAbsolute(config.generation.workflow_dir)) {
    // a user's file resolves it against its own directory; the shipped file's is package-relative
    const fromUserFile =
      sources['generation.workflow_dir']?.startsWith('file ') &&
      file !== undefined &&
      file !== DEFAULT_CONFIG_FILE;
    const base = fromUserFile && file ? dirname(file) : PACKAGE_ROOT;
    config.generation.workflow_dir = resolve(base, config.generation.workflow_dir);
  }
  // Key files and folders named in a config file are relative to that file; elsewhere to the
  // cwd; `~/` is the home directory.
  const keyPath = (dotted: string, path: string): string =>
    path.startsWith('~/')
      ? resolve(homedir(), path.slice(2))
      : resolve(
          sources[dotted]?.startsWith('file ') && file !== undefined ? dirname(file) : '.',
          path,
        );
  const curvePaths = (dotted: string, c: CurveClientConfig | false | undefined): void => {
    if (c === undefined || c === false) return;
    c.client_key_file = keyPath(dotted, c.client_key_file);
    c.server_public_key_file = keyPath(dotted, c.server_public_key_file);
  };
  curvePaths('backend.curve', config.backend.curve);
  for (const w of config.backend.workers) curvePaths('backend.workers', w.curve);
  if (config.worker.curve_key_file !== undefined)
    config.worker.curve_key_file = keyPath('worker.curve_key_file', config.worker.curve_key_file);
  if (config.worker.allow_keys_dir !== undefined)
    config.worker.allow_keys_dir = keyPath('worker.allow_keys_dir', config.worker.allow_keys_dir);
  return { config, sources, file, warnings };
}

/** The PUB endpoint of a worker: explicit, or the REQ endpoint's port + 1 (PROTOCOL.md "Sockets"). */
export function defaultPubEndpoint(req: string): string {
  const m = /^(tcp:\/\/[^:/\s]+):(\d+)$/.exec(req);
  if (!m) throw new DaemonError('CONFIG_INVALID', `worker endpoint ${req} is not tcp://HOST:PORT`);
  return `${m[1]}:${Number(m[2]) + 1}`;
}

/** CURVE keys of one worker link, and the config key they came from (for error messages). */
export interface WorkerCurve extends CurveClientConfig {
  /** `backend.curve` or `backend.workers[N].curve`. */
  key: string;
}

/** One worker the daemon talks to. `curve` is set when the link is CURVE-encrypted. */
export interface WorkerEndpoint {
  name: string;
  req: string;
  pub: string;
  curve?: WorkerCurve;
}

/** Every worker the daemon should use, with PUB endpoints and CURVE keys filled in. */
export function workerEndpoints(config: Config): WorkerEndpoint[] {
  const shared = config.backend.curve;
  const withCurve = (
    e: Omit<WorkerEndpoint, 'curve'>,
    own: CurveClientConfig | false | undefined,
    key: string,
  ) => {
    const curve = own === false ? undefined : (own ?? shared);
    if (curve === undefined) return e;
    return { ...e, curve: { ...curve, key: own === undefined ? 'backend.curve' : key } };
  };
  if (config.backend.workers.length > 0) {
    return config.backend.workers.map((w, i) =>
      withCurve(
        { name: w.name ?? w.req, req: w.req, pub: w.pub ?? defaultPubEndpoint(w.req) },
        w.curve,
        `backend.workers[${i}].curve`,
      ),
    );
  }
  const req = config.backend.zmq_endpoint;
  return [
    withCurve(
      { name: req, req, pub: config.backend.zmq_pub_endpoint ?? defaultPubEndpoint(req) },
      undefined,
      'backend.curve',
    ),
  ];
}
