/**
 * Request checks of the HTTP transport, each returning the refusal (status +
 * message) or undefined. MCP spec 2025-11-25 transports: servers MUST validate
 * Origin (403 when invalid), SHOULD bind loopback and SHOULD authenticate.
 */

export interface Refusal {
  status: 401 | 403;
  message: string;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host.toLowerCase()) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Split "name:port" / "[v6]:port" into its host name. */
function hostName(hostHeader: string): string {
  const h = hostHeader.toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const colon = h.lastIndexOf(':');
  return colon === -1 ? h : h.slice(0, colon);
}

/**
 * DNS-rebinding guard: the Host header must name this server (the bound host,
 * or a loopback name when bound to loopback) and the bound port.
 */
export function checkHost(
  hostHeader: string | undefined,
  boundHost: string,
  boundPort: number,
): Refusal | undefined {
  if (hostHeader === undefined) return { status: 403, message: 'Forbidden: missing Host header' };
  const name = hostName(hostHeader);
  const portPart = hostHeader.slice(hostHeader.lastIndexOf(':') + 1);
  const allowed = isLoopbackHost(boundHost)
    ? isLoopbackHost(name)
    : name === boundHost.toLowerCase() || boundHost === '0.0.0.0' || boundHost === '::';
  if (
    !allowed ||
    (hostHeader.includes(':') && !hostHeader.endsWith(']') && Number(portPart) !== boundPort)
  ) {
    return {
      status: 403,
      message: `Forbidden: Host "${hostHeader}" is not this server; connect to ${boundHost}:${boundPort}`,
    };
  }
  return undefined;
}

/** Browsers send Origin: allow loopback origins and mcp_server.allowed_origins; no Origin (non-browser) passes. */
export function checkOrigin(
  origin: string | undefined,
  allowedOrigins: readonly string[],
): Refusal | undefined {
  if (origin === undefined) return undefined;
  if (allowedOrigins.includes(origin)) return undefined;
  try {
    const url = new URL(origin);
    if ((url.protocol === 'http:' || url.protocol === 'https:') && isLoopbackHost(url.hostname))
      return undefined;
  } catch {
    // fall through: a malformed Origin is refused like a foreign one
  }
  return {
    status: 403,
    message: `Forbidden: Origin "${origin}" is not allowed; add it to mcp_server.allowed_origins to let that page call this server`,
  };
}

/** Bearer token check when a token is configured. */
export function checkAuth(
  authorization: string | undefined,
  token: string | undefined,
  equal: (a: Buffer, b: Buffer) => boolean,
): Refusal | undefined {
  if (token === undefined) return undefined;
  const given = /^Bearer (.+)$/i.exec(authorization ?? '')?.[1] ?? '';
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  if (a.length === b.length && equal(a, b)) return undefined;
  return {
    status: 401,
    message: 'Unauthorized: send "Authorization: Bearer <mcp_server.auth_token>"',
  };
}
