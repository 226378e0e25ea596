import { destination, pino } from 'pino';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';

/**
 * The daemon's stderr log in the seed's line format (logging.format, Python
 * logging style: `[%(asctime)s] %(levelname)s - %(name)s - %(message)s`),
 * with a record's extra fields appended as key=value. `format: json` keeps
 * pino's JSON lines. Never stdout: that belongs to JSON-RPC.
 */

const LEVEL_NAME: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARNING',
  50: 'ERROR',
  60: 'CRITICAL',
};
const RESERVED = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'name']);

/** Python's asctime: "2026-11-25 18:04:05,123" (local time). */
function asctime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())},${p(d.getMilliseconds(), 3)}`;
}

function value(v: unknown): string {
  return typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v);
}

/** One pino JSON record → one line in `format`. */
export function formatRecord(json: string, format: string, name: string): string {
  const rec = JSON.parse(json) as Record<string, unknown>;
  const extras = Object.entries(rec)
    .filter(([k]) => !RESERVED.has(k))
    .map(([k, v]) => `${k}=${value(v)}`)
    .join(' ');
  const message = [rec.msg, extras].filter((s) => s !== undefined && s !== '').join(' ');
  const fields: Record<string, string> = {
    asctime: asctime(Number(rec.time)),
    levelname: LEVEL_NAME[Number(rec.level)] ?? String(rec.level),
    name: typeof rec.name === 'string' ? rec.name : name,
    message,
    process: String(rec.pid ?? process.pid),
  };
  return format.replace(/%\((\w+)\)[sd]/g, (whole, key: string) => fields[key] ?? whole);
}

/** The serve command's logger: level and line format from `logging`, written to stderr. */
export function createServeLogger(logging: Config['logging'], name = 'dgx-pixels'): Logger {
  const level =
    ({ warning: 'warn', critical: 'fatal' } as Record<string, string>)[logging.level] ??
    logging.level;
  if (logging.format.toLowerCase() === 'json')
    return pino({ level, base: { pid: process.pid } }, destination({ fd: 2, sync: true }));
  const stream = {
    write(line: string) {
      process.stderr.write(`${formatRecord(line, logging.format, name)}\n`);
    },
  };
  return pino({ level, base: { pid: process.pid } }, stream);
}
