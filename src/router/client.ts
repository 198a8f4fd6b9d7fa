import { Pool } from 'undici';
import { MaestroError, errorMessage, type ErrorCode } from '../common/index.js';
import { DEFAULT_CLOSE_WAIT_MS, type CloseWebsocketsResponse, type RouterHealth, type RouterStatsResponse } from './admin.js';
import type { RouteTable } from './route-table.js';

export interface RouterClientOptions {
  /** e.g. `http://127.0.0.1:8081` */
  adminUrl: string;
  /** The router's MAESTRO_ROUTER_TOKEN, when it has one. */
  token?: string;
  /** Per-call limit; default 10 s. */
  timeoutMs?: number;
}

export interface PutRoutesResult {
  version: number;
  routes: number;
  /** False when the router already served this exact table (a retried push). */
  changed: boolean;
}

export interface RouterClient {
  /** Push a table; `conflict` when the router serves a newer one, `validation_error` when it is malformed. */
  putRoutes(table: RouteTable): Promise<PutRoutesResult>;
  getRoutes(): Promise<RouteTable>;
  /** Per-revision totals, in-flight counts and the last `windowMs` (default 60 s) of traffic. */
  stats(windowMs?: number): Promise<RouterStatsResponse>;
  health(): Promise<RouterHealth>;
  /**
   * Close a revision's open WebSockets ("going away"), or only those to the replicas at `upstreams`,
   * giving them `waitMs` (the router's default when omitted) to finish the closing handshake before
   * the rest are cut; resolves once they are closed.
   */
  closeWebsockets(request: CloseWebsocketsRequest): Promise<CloseWebsocketsResponse>;
  close(): Promise<void>;
}

export interface CloseWebsocketsRequest {
  revision: string;
  upstreams?: string[];
  waitMs?: number;
}

const STATUS_CODES: Record<number, ErrorCode> = { 400: 'validation_error', 401: 'unauthorized', 404: 'not_found', 409: 'conflict', 413: 'payload_too_large' };

/** The control plane's side of the router admin API. */
export function createRouterClient(options: RouterClientOptions): RouterClient {
  const base = new URL(options.adminUrl);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const pool = new Pool(base.origin, { connections: 4, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  const authorization = options.token ? { authorization: `Bearer ${options.token}` } : {};

  const call = async <T>(method: 'GET' | 'PUT' | 'POST', path: string, body?: unknown, extraMs = 0): Promise<T> => {
    let response;
    try {
      response = await pool.request({
        method,
        path,
        // A call that waits on the router's own work (closing sockets) gets that long on top of the usual limit.
        ...(extraMs > 0 ? { headersTimeout: timeoutMs + extraMs, bodyTimeout: timeoutMs + extraMs } : {}),
        headers: { accept: 'application/json', ...authorization, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new MaestroError('unavailable', `The router admin API at ${base.origin} is not reachable: ${errorMessage(error)}`);
    }
    const text = await response.body.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      throw new MaestroError('internal', `The router admin API at ${base.origin} answered ${method} ${path} with something that is not JSON (status ${response.statusCode}).`);
    }
    if (response.statusCode >= 200 && response.statusCode < 300) return parsed as T;
    const error = (parsed as { error?: { code?: ErrorCode; message?: string; details?: unknown } } | undefined)?.error;
    throw new MaestroError(
      error?.code ?? STATUS_CODES[response.statusCode] ?? 'unavailable',
      error?.message ?? `The router admin API answered ${method} ${path} with status ${response.statusCode}.`,
      error?.details,
    );
  };

  return {
    putRoutes: (table) => call<PutRoutesResult>('PUT', '/routes', table),
    getRoutes: () => call<RouteTable>('GET', '/routes'),
    stats: (windowMs) => call<RouterStatsResponse>('GET', windowMs === undefined ? '/stats' : `/stats?window=${Math.max(1, Math.round(windowMs))}ms`),
    health: () => call<RouterHealth>('GET', '/healthz'),
    closeWebsockets: ({ revision, upstreams, waitMs }) =>
      call<CloseWebsocketsResponse>(
        'POST',
        '/websockets/close',
        { revision, ...(upstreams === undefined ? {} : { upstreams }), ...(waitMs === undefined ? {} : { waitMs: Math.max(0, Math.round(waitMs)) }) },
        waitMs ?? DEFAULT_CLOSE_WAIT_MS,
      ),
    close: () => pool.close(),
  };
}
