import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';

/**
 * The daemon's stderr log in the seed's line format (logging.format, Python
 * logging style: `[%(asctime)s] %(levelname)s - %(name)s - %(message)s`),
 * with a record's extra fields appended as key=value; `format: json` writes
 * one JSON object per line instead. Never stdout: that belongs to JSON-RPC.
 * A small pino-compatible logger (the methods the daemon calls) rather than
 * pino itself keeps ~50 ms of module loading off `serve`'s cold start.
 */

const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;
type LevelName = keyof typeof LEVELS;
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
  if (v instanceof Error) return JSON.stringify(v.message);
  return typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v);
}

/** One record (pino's JSON shape) → one line in `format`. */
export function formatRecord(
  json: string | Record<string, unknown>,
  format: string,
  name: string,
): string {
  const rec = typeof json === 'string' ? (JSON.parse(json) as Record<string, unknown>) : json;
  const extras = Object.entries(rec)
    .filter(([k, v]) => !RESERVED.has(k) && v !== undefined)
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
  const levelName =
    ({ warning: 'warn', critical: 'fatal' } as Record<string, string>)[logging.level] ??
    logging.level;
  const threshold =
    levelName === 'silent' ? Number.POSITIVE_INFINITY : (LEVELS[levelName as LevelName] ?? 30);
  const json = logging.format.toLowerCase() === 'json';
  const make = (bindings: Record<string, unknown>): Logger => {
    const write = (level: number, a: unknown, b?: unknown) => {
      if (level < threshold) return;
      const fields =
        typeof a === 'object' && a !== null ? (a instanceof Error ? { err: a.message } : a) : {};
      const msg = typeof a === 'string' ? a : typeof b === 'string' ? b : undefined;
      const rec = {
        level,
        time: Date.now(),
        pid: process.pid,
        ...bindings,
        ...(fields as object),
        msg,
      };
      process.stderr.write(
        `${json ? JSON.stringify(rec) : formatRecord(rec, logging.format, name)}\n`,
      );
    };
    const logger = {
      level: levelName,
      trace: (a: unknown, b?: unknown) => write(10, a, b),
      debug: (a: unknown, b?: unknown) => write(20, a, b),
      info: (a: unknown, b?: unknown) => write(30, a, b),
      warn: (a: unknown, b?: unknown) => write(40, a, b),
      error: (a: unknown, b?: unknown) => write(50, a, b),
      fatal: (a: unknown, b?: unknown) => write(60, a, b),
      silent: () => undefined,
      child: (more: Record<string, unknown>) => make({ ...bindings, ...more }),
      isLevelEnabled: (l: string) => (LEVELS[l as LevelName] ?? 0) >= threshold,
      flush: () => undefined,
    };
    return logger as unknown as Logger;
  };
  return make({});
}
