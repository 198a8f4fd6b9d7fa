import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { MaestroError, errorMessage } from '../common/index.js';
import { createAdminHandler } from './admin.js';
import { RouterMetrics } from './metrics.js';
import { handleProxyRequest, type AccessLogEntry, type ProxyContext } from './proxy.js';
import { EMPTY_TABLE, RouteState } from './route-state.js';
import type { RouteTable } from './route-table.js';
import { UpstreamRotation } from './select.js';
import { loadStateFile, writeStateFile } from './state-file.js';
import { UpstreamPools } from './upstream-pools.js';
import { UpgradedConnections } from './upgraded-connections.js';
import { UpstreamLoad } from './upstream-load.js';
import { handleUpgrade } from './websocket.js';
import { Waker } from './wake.js';

export interface RouterOptions {
  /** Port for user traffic; 0 picks a free one. */
  port: number;
  /** Port for the admin API, always on 127.0.0.1; 0 picks a free one. */
  adminPort: number;
  /** Interface for user traffic; the admin API never leaves loopback. */
  host?: '127.0.0.1' | '0.0.0.0';
  /** Where accepted route tables are saved, and loaded from at start. */
  stateFile: string;
  /** Bearer token for the admin API (except /healthz); defaults to MAESTRO_ROUTER_TOKEN. */
  adminToken?: string;
  /** How long an upstream may stay silent (before or during its answer) before a 504; default 60 s. */
  upstreamTimeoutMs?: number;
  /** One log line per request; defaults to MAESTRO_ROUTER_ACCESS_LOG=1. */
  accessLog?: boolean;
  /** Where start and table changes are logged; silent by default. */
  logger?: pino.Logger;
  /** How long a request for a sleeping environment waits for it to wake; default 60 s. */
  wakeWaitMs?: number;
}

export interface RouterHandle {
  port: number;
  adminPort: number;
  /** Stop accepting, let in-flight requests finish for up to `graceMs` (default 10 s), then close everything. */
  close(options?: { graceMs?: number }): Promise<void>;
  /** The table being served. */
  table(): RouteTable;
  /** HTTP requests in flight across all revisions. */
  inFlight(): number;
}

export const DEFAULT_UPSTREAM_TIMEOUT_MS = 60_000;
const SWEEP_INTERVAL_MS = 60_000;
/** At shutdown, how long WebSockets may take to finish their closing handshake at most. */
const SHUTDOWN_WEBSOCKET_CAP_MS = 1_000;
/** How long a revision no table mentions keeps its metrics after its last request. */
const RETIRED_METRICS_MS = 10 * 60_000;

function listen(server: Server, port: number, host: string, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      reject(
        error.code === 'EADDRINUSE'
          ? new MaestroError('conflict', `The router's ${what} port ${port} on ${host} is already in use; pick another with --${what === 'admin' ? 'admin-' : ''}port.`)
          : new MaestroError('internal', `The router cannot listen for ${what} traffic on ${host}:${port}: ${error.message}`),
      );
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
  });
}

function activeUpstreams(table: RouteTable): Set<string> {
  const upstreams = new Set<string>();
  for (const route of table.routes) for (const backend of route.backends) for (const upstream of backend.upstreams) upstreams.add(upstream);
  return upstreams;
}

/** Start the reverse proxy and its admin API, serving the last saved route table straight away. */
export async function startRouter(options: RouterOptions): Promise<RouterHandle> {
  const logger = options.logger ?? pino({ level: 'silent' });
  const host = options.host ?? '127.0.0.1';
  const token = options.adminToken ?? (process.env.MAESTRO_ROUTER_TOKEN || undefined);
  const accessLogOn = options.accessLog ?? process.env.MAESTRO_ROUTER_ACCESS_LOG === '1';

  let initial = EMPTY_TABLE;
  try {
    initial = (await loadStateFile(options.stateFile)) ?? EMPTY_TABLE;
  } catch (error) {
    // Serving nothing beats not serving at all; the control plane pushes a fresh table when it sees us.
    logger.error({ stateFile: options.stateFile, err: errorMessage(error) }, 'could not load the saved route table; starting empty');
  }

  const metrics = new RouterMetrics();
  const waker = new Waker({ ...(token ? { token } : {}), ...(options.wakeWaitMs ? { waitMs: options.wakeWaitMs } : {}), onError: (name, message) => logger.warn({ host: name, err: message }, 'could not ask the control plane to wake a sleeping environment') });
  const lastRequest = new Map<string, number>();
  const rotation = new UpstreamRotation();
  const upstreamTimeoutMs = options.upstreamTimeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS;
  const pools = new UpstreamPools(upstreamTimeoutMs);
  const state = new RouteState(
    initial,
    (table) => writeStateFile(options.stateFile, table),
    (table, previous) => {
      logger.info({ version: table.version, previousVersion: previous.version, routes: table.routes.length }, 'route table applied');
      rotation.retain(state.revisions());
      pools.retain(activeUpstreams(table));
      for (const name of lastRequest.keys()) if (!state.lookup(name)) lastRequest.delete(name);
      waker.tableApplied();
    },
  );
  let draining = false;
  const upgrades = new UpgradedConnections();
  const load = new UpstreamLoad();

  const context: ProxyContext = {
    lookup: (name) => state.lookup(name),
    metrics,
    rotation,
    pools,
    load,
    upstreamTimeoutMs,
    draining: () => draining,
    waker,
    lastRequest,
    accessLog: accessLogOn ? (entry: AccessLogEntry) => logger.info(entry, 'request') : undefined,
  };

  const proxy = createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, (req, res) => handleProxyRequest(context, req, res));
  // Uploads may legitimately take long; slow-loris protection comes from headersTimeout (60 s by default).
  proxy.on('upgrade', (req, socket, head) => handleUpgrade(context, upgrades, req, socket, head));
  proxy.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });
  const admin = createServer(createAdminHandler({ state, metrics, upgrades, load, token, lastRequest, waker }));

  let port: number;
  let adminPort: number;
  try {
    port = await listen(proxy, options.port, host, 'proxy');
    adminPort = await listen(admin, options.adminPort, '127.0.0.1', 'admin');
  } catch (error) {
    await Promise.all([closeServer(proxy), closeServer(admin)]);
    throw error;
  }

  const sweeper = setInterval(() => metrics.prune(state.revisions(), RETIRED_METRICS_MS), SWEEP_INTERVAL_MS);
  sweeper.unref();

  logger.info(
    { port, adminPort, host, version: initial.version, routes: initial.routes.length, adminAuth: token !== undefined },
    'router listening',
  );

  let closing: Promise<void> | undefined;
  const close = (closeOptions: { graceMs?: number } = {}): Promise<void> => {
    closing ??= (async () => {
      const graceMs = closeOptions.graceMs ?? 10_000;
      draining = true;
      clearInterval(sweeper);
      const stopped = closeServer(proxy);
      const deadline = Date.now() + graceMs;
      while (metrics.totalInFlight() > 0 && Date.now() < deadline) {
        proxy.closeIdleConnections();
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      proxy.closeAllConnections();
      // WebSockets last, told the server is going away; a peer that does not answer is cut off shortly.
      await upgrades.goAway(undefined, Math.min(SHUTDOWN_WEBSOCKET_CAP_MS, Math.max(0, deadline - Date.now())));
      await pools.destroyAll();
      const adminStopped = closeServer(admin);
      admin.closeAllConnections();
      await Promise.all([stopped, adminStopped]);
      logger.info({ version: state.table.version }, 'router stopped');
    })();
    return closing;
  };

  return { port, adminPort, close, table: () => state.table, inFlight: () => metrics.totalInFlight() };
}
