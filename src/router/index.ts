// The router (data plane): Maestro's reverse proxy, run as its own process and fed route tables by the control plane.
export { validateRouteTable, type Backend, type Route, type RouteTable } from './route-table.js';
export { selectBackend, REVISION_HEADER, type RoutingOverrides } from './select.js';
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
export type { RouterHealth, RouterStatsResponse } from './admin.js';
export { createRouterClient, type PutRoutesResult, type RouterClient, type RouterClientOptions } from './client.js';
