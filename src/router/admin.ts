import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { timingSafeEqual, createHash } from 'node:crypto';
import type { Waker } from './wake.js';
import { MaestroError, errorMessage, isMaestroError, parseDuration } from '../common/index.js';
import type { RevisionStats, RouterMetrics } from './metrics.js';
import { WINDOW_SECONDS } from './metrics-math.js';
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from './prometheus.js';
import type { RouteState } from './route-state.js';
import { validateRouteTable } from './route-table.js';
import type { UpgradedConnections } from './upgraded-connections.js';
import type { UpstreamLoad } from './upstream-load.js';

/** Route tables are small; this only guards the router against a runaway body. */
const MAX_TABLE_BYTES = 16 * 1024 * 1024;
const DEFAULT_STATS_WINDOW_MS = WINDOW_SECONDS * 1000;

export interface AdminContext {
  state: RouteState;
  metrics: RouterMetrics;
  upgrades: UpgradedConnections;
  load: UpstreamLoad;
  /** When set, every endpoint except /healthz wants `Authorization: Bearer <token>`. */
  token?: string;
  /** When each host last had a request. */
  lastRequest?: ReadonlyMap<string, number>;
  /** Requests held while a sleeping environment wakes. */
  waker?: Waker;
}

/** What `GET /stats` answers. */
export interface RouterStatsResponse {
  version: number;
  windowMs: number;
  /** In-flight requests per revision id: a removed revision is drained when it reaches 0. */
  inFlight: Record<string, number>;
  /** Open WebSockets per revision id: a retired revision's are closed once its drain time is up. */
  websockets: Record<string, number>;
  /** Per replica address (`host:port`) with anything open: what draining a single replica waits on. */
  upstreams: Record<string, UpstreamConnections>;
  unrouted: { no_route: number; unavailable: number };
  revisions: RevisionStats[];
  /** When each host of the table last had a request (epoch ms); hosts without one are left out. */
  lastRequestAt: Record<string, number>;
  /** Requests waiting for a sleeping environment to wake. */
  heldForWake: number;
}

export interface UpstreamConnections {
  inFlight: number;
  websockets: number;
}

/** What `POST /websockets/close` answers. */
export interface CloseWebsocketsResponse {
  revision: string;
  /** Upgraded connections of the revision (or of its replicas named in the request) that were open and are closed now. */
  closed: number;
}

/** How long closing connections may take by default before the rest are cut, and at most. */
export const DEFAULT_CLOSE_WAIT_MS = 2_000;
const MAX_CLOSE_WAIT_MS = 60_000;

const closeWebsocketsSchema = z.strictObject({
  revision: z.string({ error: 'revision is required: the id of the revision whose WebSockets to close' }).min(1, 'revision must not be empty'),
  upstreams: z
    .array(z.string({ error: 'upstreams lists replica addresses, e.g. "127.0.0.1:41234"' }), { error: 'upstreams lists replica addresses, e.g. ["127.0.0.1:41234"]' })
    .optional(),
  waitMs: z
    .number({ error: 'waitMs is a number of milliseconds' })
    .int('waitMs is a whole number of milliseconds')
    .min(0, 'waitMs is at least 0')
    .max(MAX_CLOSE_WAIT_MS, `waitMs is at most ${MAX_CLOSE_WAIT_MS}`)
    .optional(),
});

export interface RouterHealth {
  ok: boolean;
  version: number;
  routes: number;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

function sendError(res: ServerResponse, error: MaestroError): void {
  sendJson(res, error.httpStatus, error.toJSON());
}

// Compare digests so neither the token's length nor its content leaks through timing.
function tokenMatches(header: string | undefined, token: string): boolean {
  const presented = header?.startsWith('Bearer ') ? header.slice(7).trim() : '';
  const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(presented), digest(token));
}

async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_TABLE_BYTES) throw new MaestroError('payload_too_large', `An admin request body (a route table) is at most ${MAX_TABLE_BYTES} bytes.`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new MaestroError('validation_error', `The body is not valid JSON: ${errorMessage(error)}`);
  }
}

function parseWindow(value: string | null): number {
  if (value === null || value === '') return DEFAULT_STATS_WINDOW_MS;
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0 || ms > DEFAULT_STATS_WINDOW_MS) {
    throw new MaestroError('validation_error', `window=${value} is not a duration from 1s to ${WINDOW_SECONDS}s, e.g. window=30s.`);
  }
  return ms;
}

/** The admin API: the control plane pushes tables and reads measurements here. */
export function createAdminHandler(context: AdminContext): (req: IncomingMessage, res: ServerResponse) => void {
  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://router.invalid');
    const method = req.method ?? 'GET';
    const table = context.state.table;

    if (url.pathname === '/healthz') {
      if (method !== 'GET') throw methodNotAllowed(method, url.pathname);
      const health: RouterHealth = { ok: true, version: table.version, routes: table.routes.length };
      sendJson(res, 200, health);
      return;
    }
    if (context.token !== undefined && !tokenMatches(req.headers.authorization, context.token)) {
      throw new MaestroError('unauthorized', 'The router admin API wants `Authorization: Bearer <token>` with the router token (MAESTRO_ROUTER_TOKEN).');
    }
    switch (url.pathname) {
      case '/routes':
        if (method === 'GET') {
          sendJson(res, 200, table);
          return;
        }
        if (method === 'PUT') {
          const next = validateRouteTable(await readJsonBody(req));
          const { changed } = await context.state.apply(next);
          sendJson(res, 200, { version: next.version, routes: next.routes.length, changed });
          return;
        }
        throw methodNotAllowed(method, url.pathname);
      case '/stats': {
        if (method !== 'GET') throw methodNotAllowed(method, url.pathname);
        const windowMs = parseWindow(url.searchParams.get('window'));
        const stats: RouterStatsResponse = {
          version: table.version,
          windowMs,
          inFlight: context.metrics.inFlightByRevision(),
          websockets: context.metrics.websocketsByRevision(),
          upstreams: upstreamConnections(context.load.inFlight(), context.upgrades.countByUpstream()),
          unrouted: { ...context.metrics.unrouted },
          revisions: context.metrics.snapshot(windowMs),
          lastRequestAt: Object.fromEntries(context.lastRequest ?? []),
          heldForWake: context.waker?.held() ?? 0,
        };
        sendJson(res, 200, stats);
        return;
      }
      case '/metrics': {
        if (method !== 'GET') throw methodNotAllowed(method, url.pathname);
        const text = renderPrometheus({
          revisions: context.metrics.snapshot(DEFAULT_STATS_WINDOW_MS),
          unrouted: context.metrics.unrouted,
          tableVersion: table.version,
          routes: table.routes.length,
        });
        res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'content-length': Buffer.byteLength(text) });
        res.end(text);
        return;
      }
      case '/websockets/close': {
        if (method !== 'POST') throw methodNotAllowed(method, url.pathname);
        const parsed = closeWebsocketsSchema.safeParse(await readJsonBody(req));
        if (!parsed.success) {
          const issue = parsed.error.issues[0]!;
          throw new MaestroError(
            'validation_error',
            `POST /websockets/close wants {"revision": "<id>", "upstreams"?: ["host:port"], "waitMs"?: <ms>}: ${issue.message}`,
          );
        }
        const { revision, upstreams, waitMs = DEFAULT_CLOSE_WAIT_MS } = parsed.data;
        const closed = await context.upgrades.goAway({ revision, ...(upstreams === undefined ? {} : { upstreams }) }, waitMs);
        const answer: CloseWebsocketsResponse = { revision, closed };
        sendJson(res, 200, answer);
        return;
      }
      default:
        throw new MaestroError(
          'not_found',
          `No admin endpoint at ${url.pathname}; there are /routes, /stats, /metrics, /websockets/close and /healthz.`,
        );
    }
  };

  return (req, res) => {
    route(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendError(res, isMaestroError(error) ? error : new MaestroError('internal', errorMessage(error)));
    });
  };
}

function upstreamConnections(inFlight: Record<string, number>, websockets: Record<string, number>): Record<string, UpstreamConnections> {
  const result: Record<string, UpstreamConnections> = {};
  for (const address of new Set([...Object.keys(inFlight), ...Object.keys(websockets)])) {
    result[address] = { inFlight: inFlight[address] ?? 0, websockets: websockets[address] ?? 0 };
  }
  return result;
}

function methodNotAllowed(method: string, path: string): MaestroError {
  return new MaestroError('bad_request', `${method} is not supported on ${path}.`);
}
