import { destination, type Logger, pino } from 'pino';

/**
 * Logs go to stderr (fd 2): stdout belongs to the MCP protocol, and one stray
 * byte there corrupts a JSON-RPC stream.
 */
export type { Logger };

export function createLogger(level = process.env.DGX_PIXELS_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { pid: process.pid } }, destination({ fd: 2, sync: true }));
}

/** A logger that drops everything: for library use and tests that do not read logs. */
export const silentLogger: Logger = pino({ level: 'silent' });
