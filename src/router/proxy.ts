import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeader, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { acceptableRequestId, clientAddress, normalizeHost, stripHopByHop, upstreamRequestHeaders } from './headers.js';
import type { RouterMetrics } from './metrics.js';
import {
  badGatewayPage,
  gatewayTimeoutPage,
  noRoutePage,
  renderPage,
  unavailablePage,
  wantsJson,
  type RouterErrorPage,
} from './pages.js';
import type { Backend, Route } from './route-table.js';
import { REVISION_HEADER, UpstreamRotation, backendForRequest } from './select.js';
import { RequestBody } from './request-body.js';
import type { UpstreamPools } from './upstream-pools.js';
import type { Waker } from './wake.js';
import type { UpstreamLoad } from './upstream-load.js';

/** What the proxy needs from the rest of the router. */
export interface ProxyContext {
  lookup(host: string): Route | undefined;
  metrics: RouterMetrics;
  rotation: UpstreamRotation;
  pools: UpstreamPools;
  load: UpstreamLoad;
  upstreamTimeoutMs: number;
  /** True while shutting down: answers carry `Connection: close` so clients move on. */
  draining(): boolean;
  /** Called once per answered request when access logging is on. */
  accessLog?: (entry: AccessLogEntry) => void;
  /** Holds requests for sleeping environments while they wake. */
  waker?: Waker;
  /** When each host last had a request (for idle previews), in epoch ms. */
  lastRequest?: Map<string, number>;
}

export interface AccessLogEntry {
  requestId: string;
  method: string;
  host: string | undefined;
  /** Path without the query string, which may carry secrets. */
  path: string;
  status: number;
  revision?: string;
  upstream?: string;
  ms: number;
}

// RFC 9110 §9.2.2: repeating these has the same effect as sending them once.
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
// Failures that mean the app never saw (or never answered) the request.
const CONNECTION_FAILURES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** A status the client did not wait for (nginx's convention), so it is not held against the revision. */
const CLIENT_CLOSED = 499;

export function pathOf(url: string | undefined): string {
  if (!url) return '/';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return length !== '0';
  return req.headers['transfer-encoding'] !== undefined;
}

export function sendPage(req: IncomingMessage, res: ServerResponse, page: RouterErrorPage, extraHeaders: Record<string, string> = {}): void {
  const { contentType, body } = renderPage(page, wantsJson(req.headers.accept));
  res.writeHead(page.status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...extraHeaders,
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** Route one HTTP request: pick the revision and upstream, stream it there and the answer back. */
export function handleProxyRequest(context: ProxyContext, req: IncomingMessage, res: ServerResponse): void {
  const started = performance.now();
  const method = req.method ?? 'GET';
  const host = normalizeHost(req.headers.host);
  const requestId = acceptableRequestId(req.headers['x-request-id']) ?? randomUUID();
  const log = (status: number, revision?: string, upstream?: string): void => {
    context.accessLog?.({ requestId, method, host, path: pathOf(req.url), status, revision, upstream, ms: Math.round(performance.now() - started) });
  };
  const closeHeader: Record<string, string> = context.draining() ? { connection: 'close' } : {};

  const route = host === undefined ? undefined : context.lookup(host);
  if (!route) {
    context.metrics.countUnrouted('no_route');
    sendPage(req, res, noRoutePage(host), { 'x-request-id': requestId, ...closeHeader });
    log(404);
    return;
  }
  context.lastRequest?.set(route.host, Date.now());
  const routing = backendForRequest(route, req.headers);
  if (!routing && route.wakeUrl && context.waker) {
    const gone = new AbortController();
    res.once('close', () => gone.abort());
    void context.waker
      .hold(
        route.host,
        route.wakeUrl,
        () => {
          const awake = context.lookup(route.host);
          const picked = awake && backendForRequest(awake, req.headers);
          return awake && picked ? { route: awake, picked } : undefined;
        },
        gone.signal,
      )
      .then((woken) => {
        if (res.destroyed || res.headersSent) return;
        if (woken) {
          forward(context, req, res, { route: woken.route, backend: woken.picked.backend, setCookie: woken.picked.setCookie, requestId, started, closeHeader, log });
          return;
        }
        context.metrics.countUnrouted('unavailable');
        sendPage(req, res, unavailablePage(route.host, 'this preview was asleep and did not wake up in time'), { 'retry-after': '5', 'x-request-id': requestId, ...closeHeader });
        log(503);
      });
    return;
  }
  if (!routing) {
    context.metrics.countUnrouted('unavailable');
    sendPage(req, res, unavailablePage(route.host, route.unavailableReason), { 'retry-after': '1', 'x-request-id': requestId, ...closeHeader });
    log(503);
    return;
  }
  forward(context, req, res, { route, backend: routing.backend, setCookie: routing.setCookie, requestId, started, closeHeader, log });
}

interface Forwarding {
  route: Route;
  backend: Backend;
  /** A sticky assignment (or its removal) to add to the app's answer. */
  setCookie: string | undefined;
  requestId: string;
  started: number;
  closeHeader: Record<string, string>;
  log: (status: number, revision?: string, upstream?: string) => void;
}

function forward(context: ProxyContext, req: IncomingMessage, res: ServerResponse, forwarding: Forwarding): void {
  const { route, backend, requestId, started } = forwarding;
  const finish = context.metrics.begin({ project: route.project, service: route.service, environment: route.environment, revision: backend.revision });
  const method = req.method ?? 'GET';
  const headers = upstreamRequestHeaders(req.headers, {
    requestId,
    clientAddress: clientAddress(req.socket.remoteAddress),
    originalHost: req.headers.host,
  });
  const body = hasBody(req) ? new RequestBody(req) : null;
  let answered = false;
  let controller: Dispatcher.DispatchController | undefined;
  let upstream = context.rotation.next(backend)!;
  let release = context.load.begin(upstream);

  const done = (status: number): void => {
    if (answered) return;
    answered = true;
    release();
    finish(status, performance.now() - started);
    forwarding.log(status, backend.revision, upstream);
  };

  const fail = (page: RouterErrorPage): void => {
    if (res.headersSent) res.destroy();
    else sendPage(req, res, page, { [REVISION_HEADER]: backend.revision, 'x-request-id': requestId, ...forwarding.closeHeader });
    done(page.status);
  };

  // The client went away: stop the upstream work it was waiting for.
  res.once('close', () => {
    if (res.writableFinished) return;
    controller?.abort(new Error('client closed the connection'));
    done(CLIENT_CLOSED);
  });

  const attempt = (retried: boolean): void => {
    let responded = false;
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(requestController) {
        controller = requestController;
      },
      onResponseStart(requestController, statusCode, responseHeaders, statusMessage) {
        // 1xx interim answers (100 Continue, 103 Early Hints) are the app's business with us, not the client's.
        if (statusCode < 200) return;
        responded = true;
        const outgoing = stripHopByHop(responseHeaders as IncomingHttpHeaders);
        outgoing[REVISION_HEADER] = backend.revision;
        if (outgoing['x-request-id'] === undefined) outgoing['x-request-id'] = requestId;
        if (forwarding.setCookie !== undefined) outgoing['set-cookie'] = withCookie(outgoing['set-cookie'], forwarding.setCookie);
        if (forwarding.closeHeader.connection) outgoing.connection = 'close';
        res.writeHead(statusCode, statusMessage || undefined, outgoing);
        res.on('drain', () => requestController.resume());
      },
      onResponseData(requestController, chunk) {
        // Backpressure: a slow client slows the read from the app instead of filling the router's memory.
        if (!res.write(chunk)) requestController.pause();
      },
      onResponseEnd() {
        res.end();
        done(res.statusCode);
      },
      onResponseError(_requestController, error: Error & { code?: string }) {
        if (res.destroyed && !responded) return;
        if (responded) {
          // The app died (or went silent past the timeout) halfway through its answer: the client gets a
          // cut-off response, the revision a 502.
          res.destroy();
          done(502);
          return;
        }
        const code = error.code ?? '';
        if (code === 'UND_ERR_HEADERS_TIMEOUT') {
          fail(gatewayTimeoutPage(route.host, backend.revision, context.upstreamTimeoutMs));
          return;
        }
        const mayRetry = !retried && (body === null || !body.started) && CONNECTION_FAILURES.has(code) && IDEMPOTENT_METHODS.has(method) && !res.destroyed;
        const other = backend.upstreams.find((candidate) => candidate !== upstream);
        if (mayRetry && other !== undefined) {
          release();
          upstream = other;
          release = context.load.begin(upstream);
          attempt(true);
          return;
        }
        fail(badGatewayPage(route.host, backend.revision, describeFailure(code, error)));
      },
    };
    context.pools.get(upstream).dispatch({ method, path: req.url ?? '/', headers: headers as Record<string, string | string[]>, body }, handler);
  };

  attempt(false);
}

/** The app's own `Set-Cookie` lines, and the router's after them. */
function withCookie(existing: OutgoingHttpHeader | undefined, cookie: string): string[] {
  if (existing === undefined) return [cookie];
  return [...(Array.isArray(existing) ? existing : [String(existing)]), cookie];
}

function describeFailure(code: string, error: Error): string {
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'connection closed before an answer';
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'connection timed out';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable';
    default:
      return code ? code.toLowerCase() : error.message;
  }
}
