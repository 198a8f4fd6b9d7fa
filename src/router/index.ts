// The router (data plane): Maestro's reverse proxy, run as its own process and fed route tables by the control plane.
export { validateRouteTable, BACKEND_ROLES, type Backend, type BackendRole, type Route, type RouteTable } from './route-table.js';
export {
  backendForRequest,
  chooseBackend,
  routingOverrides,
  selectBackend,
  stickyCookieFor,
  REVISION_HEADER,
  type RequestRouting,
  type RoutingOverrides,
  type Selection,
  type SelectionReason,
} from './select.js';
export { parseCookies, REVISION_COOKIE, STICKY_COOKIE, STICKY_MAX_AGE_SECONDS } from './cookies.js';
export { FrameBoundary, closeFrame, CLOSE_GOING_AWAY } from './websocket-frames.js';
export { compareTables, type TableComparison } from './route-state.js';
export {
  LATENCY_BUCKETS_MS,
  SlidingWindow,
  bucketIndex,
  quantileFromBuckets,
  WINDOW_SECONDS,
  type WindowSummary,
} from './metrics-math.js';
export { statusClass, type RevisionLabels, type RevisionStats, type StatusClass } from './metrics.js';
export { HOST_FORMAT } from './pages.js';
export { startRouter, DEFAULT_UPSTREAM_TIMEOUT_MS, type RouterHandle, type RouterOptions } from './server.js';
export { runRouterProcess, type RouterProcessOptions } from './process.js';
export { parseRouterArgs } from './args.js';
export type { CloseWebsocketsResponse, RouterHealth, RouterStatsResponse, UpstreamConnections } from './admin.js';
export { createRouterClient, type CloseWebsocketsRequest, type PutRoutesResult, type RouterClient, type RouterClientOptions } from './client.js';
