import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { checkCurveKeyFiles } from '../worker-client/client-options.js';
import type { CliCommand } from './command.js';

const USAGE = `Usage: dgx-pixels serve [options]

Serve MCP. stdio by default (stdout carries only JSON-RPC; logs go to stderr);
exits when stdin closes or on SIGTERM/SIGINT, cancelling its running jobs.

Options:
  --http                 Streamable HTTP at http://HOST:PORT/mcp instead of stdio
  --host HOST            HTTP bind address (default mcp_server.host, 127.0.0.1);
                         a non-loopback host requires mcp_server.auth_token
  --port N               HTTP port (default mcp_server.port, 3000; 0 = any free port)
  --config FILE          config file (default config/mcp_config.yaml or DGX_PIXELS_CONFIG)
  --assets DIR           Bevy assets folder (deployment.bevy_assets_base)
  --zmq-endpoint URL     DGX worker REQ endpoint (backend.zmq_endpoint)
  --state-dir DIR        daemon state: raw outputs, sprites, cache (state_dir)
  --log-level LEVEL      trace|debug|info|warn|error|silent (logging.level)`;

export const command: CliCommand = {
  name: 'serve',
  summary: 'serve MCP over stdio (default) or Streamable HTTP (--http)',
  usage: USAGE,
  async run(argv) {
    let values: Record<string, string | boolean | undefined>;
    try {
      values = parseArgs({
        args: argv,
        options: {
          http: { type: 'boolean' },
          host: { type: 'string' },
          port: { type: 'string' },
          config: { type: 'string' },
          assets: { type: 'string' },
          'zmq-endpoint': { type: 'string' },
          'state-dir': { type: 'string' },
          'log-level': { type: 'string' },
        },
      }).values;
    } catch (err) {
      process.stderr.write(`dgx-pixels serve: ${errorMessage(err)}\n${USAGE}\n`);
      return 2;
    }
    const port = values.port === undefined ? undefined : Number(values.port);
    if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) {
      process.stderr.write(
        `dgx-pixels serve: --port must be an integer 0..65535; got "${values.port}"\n`,
      );
      return 2;
    }
    let config: Config;
    let warnings: string[];
    try {
      ({ config, warnings } = loadConfig({
        configPath: values.config as string | undefined,
        flags: {
          'deployment.bevy_assets_base': ['--assets', values.assets],
          'backend.zmq_endpoint': ['--zmq-endpoint', values['zmq-endpoint']],
          state_dir: ['--state-dir', values['state-dir']],
          'logging.level': ['--log-level', values['log-level']],
          'mcp_server.host': ['--host', values.host],
          'mcp_server.port': ['--port', port],
        },
      }));
      checkCurveKeyFiles(config);
    } catch (err) {
      process.stderr.write(`dgx-pixels serve: ${errorMessage(err)}\n`);
      return 2;
    }
    const { createServeLogger } = await import('../mcp/log-format.js');
    const logger = createServeLogger(config.logging);
    for (const w of warnings) logger.warn(w);
    return values.http === true ? runHttp(config, logger) : runStdio(config, logger);
  },
};

async function makeService(config: Config, logger: Logger) {
  const { SpriteService } = await import('../service/index.js');
  return new SpriteService({ config, logger });
}

/** Resolves on the first of SIGTERM / SIGINT. */
function signalled(): Promise<string> {
  return new Promise((resolveSignal) => {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => resolveSignal(sig));
  });
}

async function shutdown(logger: Logger, steps: () => Promise<void>): Promise<number> {
  // A hung worker connection must not keep the process alive past a client's patience.
  const force = setTimeout(() => {
    logger.warn('shutdown took longer than 3 s; exiting anyway');
    process.exit(0);
  }, 3000);
  force.unref();
  await steps().catch((err: unknown) =>
    logger.error({ err: errorMessage(err) }, 'shutdown step failed'),
  );
  return 0;
}

async function runStdio(config: Config, logger: Logger): Promise<number> {
  const service = await makeService(config, logger);
  const { serveStdio } = await import('../mcp/transports/stdio.js');
  const serving = await serveStdio({ service, config, logger });
  const why = await Promise.race([serving.closed.then(() => 'stdin closed'), signalled()]);
  logger.info({ why }, 'stopping');
  return shutdown(logger, async () => {
    await serving.stop();
    await service.close();
  });
}

async function runHttp(config: Config, logger: Logger): Promise<number> {
  const service = await makeService(config, logger);
  const { serveHttp } = await import('../mcp/transports/http.js');
  const serving = await serveHttp({ service, config, logger });
  process.stderr.write(`dgx-pixels: MCP Streamable HTTP at ${serving.url}\n`);
  const why = await signalled();
  logger.info({ why }, 'stopping');
  return shutdown(logger, async () => {
    await serving.close();
    await service.close();
  });
}
