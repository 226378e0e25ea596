import { readFileSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  configFileData,
  configTextHash,
  DEFAULT_CONFIG_FILE,
  defaultPubEndpoint,
  loadConfig,
  PACKAGE_ROOT,
  parseConfigText,
  workerEndpoints,
} from '../../daemon/src/config/load.js';
import { DaemonError } from '../../daemon/src/errors.js';
import { tempDir } from '../support/temp-dir.js';

/** Write `text` as a config file in a fresh temp dir (removed after the test); returns its path. */
function configFile(text: string, name = 'config.yaml'): string {
  const dir = tempDir('config-test-');
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}
function loadError(run: () => unknown): DaemonError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(DaemonError);
    expect((err as DaemonError).code).toBe('CONFIG_INVALID');
    return err as DaemonError;
  }
  throw new Error('loadConfig did not throw');
}

describe('loadConfig precedence: defaults ← file ← env ← flags', () => {
  it('uses the schema defaults with no file, env or flags', () => {
    const { config, sources, file } = loadConfig({ useDefaultFile: false, env: {} });
    expect(file).toBeUndefined();
    expect(config.backend.timeout_s).toBe(300);
    expect(config.backend.zmq_endpoint).toBe('tcp://127.0.0.1:5555');
    expect(config.validation.allowed_resolutions).toEqual(['512x512', '1024x1024', '2048x2048']);
    expect(config.validation.allowed_styles).toEqual([
      'pixel_art',
      '16bit',
      '8bit',
      'retro',
      'game_sprite',
    ]);
    expect([config.validation.min_prompt_length, config.validation.max_prompt_length]).toEqual([
      3, 500,
    ]);
    expect([config.validation.min_steps, config.validation.max_steps]).toEqual([10, 100]);
    expect([config.validation.min_cfg_scale, config.validation.max_cfg_scale]).toEqual([1, 20]);
    expect(config.generation.max_batch_size).toBe(20);
    expect(sources).toEqual({});
  });

  it('loads the shipped file without warnings and with the same defaults', () => {
    const shipped = loadConfig({ env: {} });
    const defaults = loadConfig({ useDefaultFile: false, env: {} });
    expect(shipped.file).toBe(DEFAULT_CONFIG_FILE);
    expect(shipped.warnings).toEqual([]);
    expect(shipped.config).toEqual(defaults.config);
    expect(shipped.config.generation.workflow_dir).toBe(resolve(PACKAGE_ROOT, 'config/workflows'));
  });

  it('file beats defaults, env beats file, flags beat env', () => {
    const file = configFile(
      'backend:\n  timeout_s: 120\n  max_retries: 5\n  ping_timeout_ms: 100\n',
    );
    const env = { DGX_PIXELS_BACKEND_MAX_RETRIES: '1', DGX_PIXELS_BACKEND_PING_TIMEOUT_MS: '400' };
    const { config, sources } = loadConfig({
      configPath: file,
      env,
      flags: { 'backend.ping_timeout_ms': ['--ping-timeout-ms', 50] },
    });
    expect(config.backend.timeout_s).toBe(120);
    expect(sources['backend.timeout_s']).toBe(`file ${file}`);
    expect(config.backend.max_retries).toBe(1);
    expect(sources['backend.max_retries']).toBe('env DGX_PIXELS_BACKEND_MAX_RETRIES');
    expect(config.backend.ping_timeout_ms).toBe(50);
    expect(sources['backend.ping_timeout_ms']).toBe('flag --ping-timeout-ms');
    expect(sources['backend.request_timeout_ms']).toBeUndefined();
  });

  it('an undefined flag value leaves the lower layers alone', () => {
    const { config, sources } = loadConfig({
      useDefaultFile: false,
      env: { DGX_PIXELS_ZMQ_ENDPOINT: 'tcp://10.0.0.2:6000' },
      flags: { 'backend.zmq_endpoint': ['--zmq-endpoint', undefined] },
    });
    expect(config.backend.zmq_endpoint).toBe('tcp://10.0.0.2:6000');
    expect(sources['backend.zmq_endpoint']).toBe('env DGX_PIXELS_ZMQ_ENDPOINT');
  });

  it('--config beats DGX_PIXELS_CONFIG, which beats the shipped file', () => {
    const a = configFile('backend:\n  timeout_s: 11\n');
    const b = configFile('backend:\n  timeout_s: 22\n');
    expect(loadConfig({ env: { DGX_PIXELS_CONFIG: a } }).config.backend.timeout_s).toBe(11);
    expect(
      loadConfig({ configPath: b, env: { DGX_PIXELS_CONFIG: a } }).config.backend.timeout_s,
    ).toBe(22);
  });

  it('maps the seed env aliases and the DGX_PIXELS_<SECTION>_<KEY> rule', () => {
    const { config, sources } = loadConfig({
      useDefaultFile: false,
      env: {
        DGX_PIXELS_ZMQ_ENDPOINT: 'tcp://192.168.1.20:5555',
        DGX_PIXELS_COMFYUI_URL: 'http://127.0.0.1:8188',
        DGX_PIXELS_BEVY_ASSETS: '/games/knight/assets',
        DGX_PIXELS_STATE_DIR: '/var/lib/dgx',
        DGX_PIXELS_LOG_LEVEL: 'DEBUG',
        DGX_PIXELS_WORKER_SLOTS: '2',
        DGX_PIXELS_BACKEND_RETURN_IMAGE: 'false',
        DGX_PIXELS_VALIDATION_ALLOWED_STYLES: '[pixel_art, 8bit]',
        HOME: '/root',
      },
    });
    expect(config.backend.zmq_endpoint).toBe('tcp://192.168.1.20:5555');
    expect(config.backend.comfyui_url).toBe('http://127.0.0.1:8188');
    expect(config.deployment.bevy_assets_base).toBe('/games/knight/assets');
    expect(config.state_dir).toBe('/var/lib/dgx');
    expect(config.logging.level).toBe('debug');
    expect(config.worker.slots).toBe(2);
    expect(config.backend.return_image).toBe(false);
    expect(config.validation.allowed_styles).toEqual(['pixel_art', '8bit']);
    expect(sources.state_dir).toBe('env DGX_PIXELS_STATE_DIR');
  });

  it('resolves a user file’s relative workflow_dir against the file', () => {
    const file = configFile('generation:\n  workflow_dir: flows\n');
    expect(loadConfig({ configPath: file, env: {} }).config.generation.workflow_dir).toBe(
      join(file, '..', 'flows'),
    );
  });
});

describe('workerEndpoints', () => {
  it('pairs the single endpoint with PUB on port + 1', () => {
    const { config } = loadConfig({
      useDefaultFile: false,
      env: { DGX_PIXELS_ZMQ_ENDPOINT: 'tcp://gpu-box:7000' },
    });
    expect(workerEndpoints(config)).toEqual([
      { name: 'tcp://gpu-box:7000', req: 'tcp://gpu-box:7000', pub: 'tcp://gpu-box:7001' },
    ]);
  });

  it('takes DGX_PIXELS_ZMQ_PUB_ENDPOINT for the single worker', () => {
    const { config } = loadConfig({
      useDefaultFile: false,
      env: { DGX_PIXELS_ZMQ_ENDPOINT: 'tcp://h:7000', DGX_PIXELS_ZMQ_PUB_ENDPOINT: 'tcp://h:9000' },
    });
    expect(workerEndpoints(config)[0]?.pub).toBe('tcp://h:9000');
  });

  it('lists backend.workers, which replace zmq_endpoint', () => {
    const file = configFile(
      'backend:\n  zmq_endpoint: "tcp://ignored:1"\n  workers:\n    - { req: "tcp://a:5555" }\n    - { req: "tcp://b:5565", pub: "tcp://b:6000", name: gpu1 }\n',
    );
    const { config } = loadConfig({ configPath: file, env: {} });
    expect(workerEndpoints(config)).toEqual([
      { name: 'tcp://a:5555', req: 'tcp://a:5555', pub: 'tcp://a:5556' },
      { name: 'gpu1', req: 'tcp://b:5565', pub: 'tcp://b:6000' },
    ]);
  });

  it('gives every worker backend.curve unless its entry has its own keys or curve: false', () => {
    const file = configFile(
      'backend:\n  curve: { client_key_file: keys/d.key, server_public_key_file: /etc/w.pub }\n  workers:\n' +
        '    - { req: "tcp://a:5555" }\n' +
        '    - { req: "tcp://b:5555", curve: { client_key_file: "~/k/b.key", server_public_key_file: b.pub } }\n' +
        '    - { req: "tcp://127.0.0.1:5555", curve: false }\n',
    );
    const dir = resolve(file, '..');
    const { config } = loadConfig({ configPath: file, env: {} });
    const [a, b, local] = workerEndpoints(config);
    expect(a?.curve).toEqual({
      client_key_file: join(dir, 'keys/d.key'),
      server_public_key_file: '/etc/w.pub',
      key: 'backend.curve',
    });
    expect(b?.curve).toEqual({
      client_key_file: join(homedir(), 'k/b.key'),
      server_public_key_file: join(dir, 'b.pub'),
      key: 'backend.workers[1].curve',
    });
    expect(local?.curve).toBeUndefined();
  });

  it('refuses a backend.curve with a key missing, naming the key', () => {
    expect(() =>
      loadConfig({
        useDefaultFile: false,
        env: { DGX_PIXELS_BACKEND_CURVE: '{client_key_file: a.key}' },
      }),
    ).toThrow(
      /config key backend\.curve\.server_public_key_file \(from env DGX_PIXELS_BACKEND_CURVE\) is invalid/,
    );
  });

  it('rejects a malformed endpoint in defaultPubEndpoint', () => {
    expect(() => defaultPubEndpoint('udp://x')).toThrow(
      'worker endpoint udp://x is not tcp://HOST:PORT',
    );
  });
});

describe('config errors name the key, the source, the value and what is allowed', () => {
  it.each<[string, string, (f: string) => string]>([
    [
      'a string for a number',
      'backend:\n  timeout_s: abc\n',
      (f) =>
        `config key backend.timeout_s (from ${f}:2) is invalid: Invalid input: expected number, received string; got "abc"`,
    ],
    [
      'a non-tcp endpoint',
      'backend:\n  zmq_endpoint: "http://x"\n',
      (f) =>
        `config key backend.zmq_endpoint (from ${f}:2) is invalid: expected tcp://HOST:PORT, e.g. tcp://127.0.0.1:5555; got "http://x"`,
    ],
    [
      'an unknown log level',
      'logging:\n  level: LOUD\n',
      (f) =>
        `config key logging.level (from ${f}:2) is invalid: Invalid option: expected one of "trace"|"debug"|"info"|"warning"|"warn"|"error"|"critical"|"fatal"|"silent"; got "LOUD"; allowed: trace, debug, info, warning, warn, error, critical, fatal, silent`,
    ],
    [
      'an unknown transport',
      'mcp_server:\n  transports: [carrier-pigeon]\n',
      (f) =>
        `config key mcp_server.transports.0 (from ${f}:2) is invalid: Invalid option: expected one of "stdio"|"http"|"sse"; got "carrier-pigeon"; allowed: stdio, http, sse`,
    ],
    [
      'an empty resolution list',
      'validation:\n  allowed_resolutions: []\n',
      (f) =>
        `config key validation.allowed_resolutions (from ${f}:2) is invalid: Too small: expected array to have >=1 items; got []`,
    ],
    [
      'a bad resolution',
      'validation:\n  allowed_resolutions: ["1024"]\n',
      (f) =>
        `config key validation.allowed_resolutions.0 (from ${f}:2) is invalid: expected WIDTHxHEIGHT, e.g. 1024x1024; got "1024"`,
    ],
    [
      'a negative timeout',
      'backend:\n  timeout_s: -5\n',
      (f) =>
        `config key backend.timeout_s (from ${f}:2) is invalid: Too small: expected number to be >0; got -5`,
    ],
    [
      'invalid YAML',
      'backend:\n  timeout_s: [1\n',
      (f) =>
        `config file ${f}:3 is not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]; fix the syntax there`,
    ],
    [
      'a list instead of sections',
      '- a\n- b\n',
      (f) => `config file ${f} must hold a YAML mapping of sections (mcp_server, backend, ...)`,
    ],
  ])('%s', (_what, text, message) => {
    const file = configFile(text);
    expect(loadError(() => loadConfig({ configPath: file, env: {} })).message).toBe(message(file));
  });

  it('reports every bad key at once, one per line', () => {
    const file = configFile('backend:\n  timeout_s: abc\n  max_retries: -1\n');
    const lines = loadError(() => loadConfig({ configPath: file, env: {} })).message.split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe(
      `config key backend.max_retries (from ${file}:3) is invalid: Too small: expected number to be >=0; got -1`,
    );
  });

  it.each<[Record<string, string>, string]>([
    [
      { DGX_PIXELS_BACKEND_TIMEOUTS: '3' },
      'environment variable DGX_PIXELS_BACKEND_TIMEOUTS is not a config key; did you mean DGX_PIXELS_BACKEND_TIMEOUT_S? (rule: DGX_PIXELS_<SECTION>_<KEY>, e.g. DGX_PIXELS_BACKEND_TIMEOUT_S); unset it or fix its name',
    ],
    [
      { DGX_PIXELS_FROBNICATE: '1' },
      'environment variable DGX_PIXELS_FROBNICATE is not a config key (rule: DGX_PIXELS_<SECTION>_<KEY>, e.g. DGX_PIXELS_BACKEND_TIMEOUT_S); unset it or fix its name',
    ],
    [
      { DGX_PIXELS_BACKEND_TIMEOUT_S: 'abc' },
      'config key backend.timeout_s (from env DGX_PIXELS_BACKEND_TIMEOUT_S) is invalid: Invalid input: expected number, received string; got "abc"',
    ],
    [
      { DGX_PIXELS_ZMQ_ENDPOINT: 'tcp://h' },
      'config key backend.zmq_endpoint (from env DGX_PIXELS_ZMQ_ENDPOINT) is invalid: expected tcp://HOST:PORT, e.g. tcp://127.0.0.1:5555; got "tcp://h"',
    ],
    [
      { DGX_PIXELS_COMFYUI_URL: 'not a url' },
      'config key backend.comfyui_url (from env DGX_PIXELS_COMFYUI_URL) is invalid: Invalid URL; got "not a url"',
    ],
  ])('env %j', (env, message) => {
    expect(loadError(() => loadConfig({ useDefaultFile: false, env })).message).toBe(message);
  });

  it("ignores the Bevy plugin's own DGX_PIXELS_* variables, which the daemon inherits", () => {
    const env = {
      DGX_PIXELS_DAEMON: '/opt/dgx-pixels',
      DGX_PIXELS_DAEMON_CLI: '/opt/dgx-pixels/daemon/dist/cli.js',
      DGX_PIXELS_E2E: 'skip',
    };
    const { sources } = loadConfig({ useDefaultFile: false, env });
    expect(Object.values(sources).filter((s) => s.startsWith('env '))).toEqual([]);
  });

  it('names the flag a bad value came from', () => {
    const err = loadError(() =>
      loadConfig({
        useDefaultFile: false,
        env: {},
        flags: { 'backend.timeout_s': ['--timeout-s', -1] },
      }),
    );
    expect(err.message).toBe(
      'config key backend.timeout_s (from flag --timeout-s) is invalid: Too small: expected number to be >0; got -1',
    );
  });

  it('says which file could not be read', () => {
    const missing = join(tmpdir(), 'no-such-dir-dgx', 'config.yaml');
    expect(loadError(() => loadConfig({ configPath: missing, env: {} })).message).toBe(
      `cannot read config file ${missing}: ENOENT; check the path given with --config or DGX_PIXELS_CONFIG`,
    );
  });

  it('warns about unknown keys and sections with a suggestion, and ignores them', () => {
    const file = configFile('backend:\n  timeout: 3\nbakend: {}\n');
    const { warnings, config } = loadConfig({ configPath: file, env: {} });
    expect(config.backend.timeout_s).toBe(300);
    expect(warnings).toEqual([
      `unknown key backend.timeout in ${file}:2 was ignored; did you mean backend.timeout_s?`,
      `unknown section "bakend" in ${file}:3 was ignored; did you mean backend? known sections: mcp_server, backend, generation, deployment, validation, error_handling, logging, performance, worker, state_dir`,
    ]);
  });
});

describe('the shipped default file is read from the build snapshot while unmodified', () => {
  const text = readFileSync(DEFAULT_CONFIG_FILE, 'utf8');
  const snapshot = { sha256: configTextHash(text), ...parseConfigText(DEFAULT_CONFIG_FILE, text) };

  it('takes data and lines from a snapshot of the same text, and they match a parse', () => {
    const fromSnapshot = configFileData(DEFAULT_CONFIG_FILE, text, {
      ...snapshot,
      lines: { ...snapshot.lines, marker: 1 },
    });
    expect(fromSnapshot.lines.marker).toBe(1);
    expect(fromSnapshot.data).toEqual(snapshot.data);
    expect(snapshot.lines['backend.zmq_endpoint']).toBe(
      text.split('\n').findIndex((l) => l.trim().startsWith('zmq_endpoint:')) + 1,
    );
  });

  it('parses an edited default file instead of trusting a stale snapshot', () => {
    const edited = text.replace('timeout_s: 300', 'timeout_s: 42');
    expect(edited).not.toBe(text);
    const data = configFileData(DEFAULT_CONFIG_FILE, edited, snapshot).data as {
      backend: { timeout_s: number };
    };
    expect(data.backend.timeout_s).toBe(42);
  });

  it('reads plain env values without YAML and the rest as YAML scalars', () => {
    const { config } = loadConfig({
      useDefaultFile: false,
      env: {
        DGX_PIXELS_ZMQ_ENDPOINT: 'tcp://10.0.0.2:6000',
        DGX_PIXELS_BACKEND_TIMEOUT_S: '120',
        DGX_PIXELS_BACKEND_RETRY_DELAY_S: '0.5',
        DGX_PIXELS_PERFORMANCE_CACHE_ENABLED: 'false',
      },
    });
    expect(config.backend.zmq_endpoint).toBe('tcp://10.0.0.2:6000');
    expect(config.backend.timeout_s).toBe(120);
    expect(config.backend.retry_delay_s).toBe(0.5);
    expect(config.performance.cache_enabled).toBe(false);
  });
});
