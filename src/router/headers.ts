import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** Headers that describe one connection, not the message; a proxy must not pass them on (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** The host a request is for: Host header without port, lowercase, without a trailing dot. */
export function normalizeHost(hostHeader: string | undefined): string | undefined {
  if (!hostHeader) return undefined;
  let host = hostHeader.trim().toLowerCase();
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    host = end === -1 ? host : host.slice(0, end + 1);
  } else {
    const colon = host.lastIndexOf(':');
    if (colon !== -1 && /^\d*$/.test(host.slice(colon + 1))) host = host.slice(0, colon);
  }
  if (host.endsWith('.')) host = host.slice(0, -1);
  return host || undefined;
}

/** Names listed in `Connection: a, b` are hop-by-hop for this message too. */
function connectionTokens(headers: IncomingHttpHeaders): Set<string> | undefined {
  const connection = headers.connection;
  if (!connection) return undefined;
  return new Set(connection.split(',').map((token) => token.trim().toLowerCase()).filter(Boolean));
}

/** `headers` without hop-by-hop ones; `keepUpgrade` leaves `Connection`/`Upgrade` for WebSocket handshakes. */
export function stripHopByHop(headers: IncomingHttpHeaders, keepUpgrade = false): OutgoingHttpHeaders {
  const listed = connectionTokens(headers);
  const result: OutgoingHttpHeaders = {};
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || listed?.has(name)) {
      if (!(keepUpgrade && (name === 'upgrade' || name === 'connection'))) continue;
    }
    const value = headers[name];
    if (value !== undefined) result[name] = value;
  }
  return result;
}

export interface ForwardingContext {
  requestId: string;
  clientAddress: string | undefined;
  originalHost: string | undefined;
}

/** Request headers for the upstream: hop-by-hop stripped, request id and X-Forwarded-* set. */
export function upstreamRequestHeaders(headers: IncomingHttpHeaders, context: ForwardingContext, keepUpgrade = false): OutgoingHttpHeaders {
  const result = stripHopByHop(headers, keepUpgrade);
  // The router answered `Expect: 100-continue` itself; passing it on would make the app answer it again.
  delete result.expect;
  result['x-request-id'] = context.requestId;
  const previous = headers['x-forwarded-for'];
  if (context.clientAddress) {
    result['x-forwarded-for'] = previous ? `${previous}, ${context.clientAddress}` : context.clientAddress;
  }
  // The router speaks plain HTTP; whoever terminates TLS in front of it sets its own.
  result['x-forwarded-proto'] = 'http';
  if (context.originalHost) result['x-forwarded-host'] = context.originalHost;
  return result;
}

const REQUEST_ID_PATTERN = /^[\w.:@/+=-]{1,200}$/;

/** Keep a caller's request id when it is a sane token; otherwise (missing, or junk) the router mints one. */
export function acceptableRequestId(value: string | string[] | undefined): string | undefined {
  const id = Array.isArray(value) ? value[0] : value;
  return id !== undefined && REQUEST_ID_PATTERN.test(id) ? id : undefined;
}

/** The client's address without the IPv4-mapped IPv6 prefix node reports on dual-stack sockets. */
export function clientAddress(remoteAddress: string | undefined): string | undefined {
  if (!remoteAddress) return undefined;
  return remoteAddress.startsWith('::ffff:') ? remoteAddress.slice(7) : remoteAddress;
}
