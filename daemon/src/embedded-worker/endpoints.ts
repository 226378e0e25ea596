import { DaemonError } from '../errors.js';

const ENDPOINT = /^tcp:\/\/(\[[^\]]+\]|[^:/\s]+):(\d{1,5}|\*)$/;

/** Host and port of a `tcp://HOST:PORT` endpoint (port may be `*` for "any free port"). */
export function splitEndpoint(endpoint: string, what: string): { host: string; port: string } {
  const m = ENDPOINT.exec(endpoint);
  if (!m) {
    throw new DaemonError(
      'CONFIG_INVALID',
      `worker ${what} endpoint ${JSON.stringify(endpoint)} is not tcp://HOST:PORT; use e.g. tcp://127.0.0.1:5555 (or port * for any free port)`,
    );
  }
  return { host: m[1] as string, port: m[2] as string };
}

/** True for 127.0.0.0/8, ::1 and localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** The PUB endpoint next to a REQ endpoint: same host, port + 1 (`*` stays `*`). */
export function pubEndpointFor(req: string): string {
  const { host, port } = splitEndpoint(req, 'req');
  return `tcp://${host}:${port === '*' ? '*' : Number(port) + 1}`;
}
