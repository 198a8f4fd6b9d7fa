import type { Backend, Route } from './route-table.js';

/** Per-request routing hints; today the `x-maestro-revision` request header. */
export interface RoutingOverrides {
  /** Pin the request to this revision when the route has it (canary checks, debugging). */
  revision?: string;
}

export const REVISION_HEADER = 'x-maestro-revision';

/**
 * The backend a request goes to: the overridden revision when the route has it with upstreams,
 * otherwise a weighted draw among positive-weight backends. `random01` is in [0, 1).
 * Undefined when the route has nothing to send to.
 */
export function selectBackend(route: Route, random01: number, overrides: RoutingOverrides = {}): Backend | undefined {
  if (overrides.revision !== undefined) {
    const pinned = route.backends.find((backend) => backend.revision === overrides.revision);
    if (pinned && pinned.upstreams.length > 0) return pinned;
  }
  const total = route.backends.reduce((sum, backend) => sum + Math.max(0, backend.weight), 0);
  if (total <= 0) return undefined;
  // Scale by the actual total so a malformed table still splits proportionally rather than failing.
  const point = Math.min(Math.max(random01, 0), 1 - Number.EPSILON) * total;
  let cumulative = 0;
  let last: Backend | undefined;
  for (const backend of route.backends) {
    if (backend.weight <= 0) continue;
    cumulative += backend.weight;
    last = backend;
    if (point < cumulative) return backend;
  }
  return last;
}

/**
 * The backend for an incoming request (plain HTTP or a WebSocket upgrade): none for a route marked
 * unavailable, else a weighted draw that honours the `x-maestro-revision` request header.
 */
export function backendForRequest(route: Route, headers: Record<string, string | string[] | undefined>): Backend | undefined {
  if (route.unavailableReason !== undefined) return undefined;
  const override = headers[REVISION_HEADER];
  return selectBackend(route, Math.random(), { revision: typeof override === 'string' ? override : undefined });
}

/**
 * Round-robin over a backend's upstreams, one rotation per revision. Kept outside the route table so a
 * new table with the same upstreams keeps spreading load evenly.
 */
export class UpstreamRotation {
  private readonly counters = new Map<string, number>();

  /** The next upstream for this backend, skipping `exclude` (a failed one) when there is another. */
  next(backend: Backend, exclude?: string): string | undefined {
    const { upstreams } = backend;
    if (upstreams.length === 0) return undefined;
    const counter = this.counters.get(backend.revision) ?? 0;
    this.counters.set(backend.revision, (counter + 1) % 1_000_000_007);
    const first = upstreams[counter % upstreams.length]!;
    if (exclude === undefined || first !== exclude) return first;
    return upstreams.find((upstream) => upstream !== exclude);
  }

  /** Forget revisions no table mentions any more. */
  retain(revisions: Set<string>): void {
    for (const revision of this.counters.keys()) if (!revisions.has(revision)) this.counters.delete(revision);
  }
}

/** Split `host:port` (IPv6 hosts in brackets) for socket APIs. */
export function parseUpstream(upstream: string): { host: string; port: number } {
  const colon = upstream.lastIndexOf(':');
  let host = upstream.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host, port: Number(upstream.slice(colon + 1)) };
}
