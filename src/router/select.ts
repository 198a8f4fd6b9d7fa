import { COOKIE_PREFIX, REVISION_COOKIE, STICKY_COOKIE, clearedStickyCookie, parseCookies, stickyCookie } from './cookies.js';
import { BACKEND_ROLES, type Backend, type BackendRole, type Route } from './route-table.js';

/** Per-request routing hints, read from the request by `routingOverrides`. */
export interface RoutingOverrides {
  /**
   * Pin the request (canary checks, debugging): a revision id, or `canary` / `stable` for that side of a
   * rollout's split. From the `x-maestro-revision` header.
   */
  revision?: string;
  /** The same from the `maestro-revision` cookie; the header wins when both name something the route has. */
  cookieRevision?: string;
  /** The revision a sticky route assigned to this client earlier (the `maestro-sticky` cookie). */
  sticky?: string;
}

export const REVISION_HEADER = 'x-maestro-revision';

/** How a backend was chosen: a tester's pin, an earlier sticky assignment, or a weighted draw. */
export type SelectionReason = 'override' | 'sticky' | 'weights';

export interface Selection {
  backend: Backend;
  via: SelectionReason;
}

/** The overrides a request carries; the cookie header is parsed leniently and never throws. */
export function routingOverrides(headers: Record<string, string | string[] | undefined>): RoutingOverrides {
  const header = headers[REVISION_HEADER];
  const overrides: RoutingOverrides = {};
  if (typeof header === 'string' && header !== '') overrides.revision = header;
  // Most requests carry only the app's cookies: skip parsing those (this runs on every request).
  const cookieHeader = headers.cookie;
  const mentionsOurs = Array.isArray(cookieHeader) ? cookieHeader.some((line) => line.includes(COOKIE_PREFIX)) : cookieHeader?.includes(COOKIE_PREFIX);
  if (!mentionsOurs) return overrides;
  const cookies = parseCookies(cookieHeader);
  const cookieRevision = cookies.get(REVISION_COOKIE);
  if (cookieRevision) overrides.cookieRevision = cookieRevision;
  const sticky = cookies.get(STICKY_COOKIE);
  if (sticky) overrides.sticky = sticky;
  return overrides;
}

/** The backend a pin names, if the route has it with upstreams: an exact revision id first, then a role. */
function pinned(route: Route, name: string): Backend | undefined {
  const exact = route.backends.find((backend) => backend.revision === name);
  if (exact) return exact.upstreams.length > 0 ? exact : undefined;
  const role = name.toLowerCase();
  if (!(BACKEND_ROLES as readonly string[]).includes(role)) return undefined;
  const byRole = route.backends.find((backend) => backend.role === (role as BackendRole));
  return byRole && byRole.upstreams.length > 0 ? byRole : undefined;
}

/** A positive-weight backend by a draw in [0, 1) scaled to the route's total weight. */
function drawByWeight(route: Route, random01: number): Backend | undefined {
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
 * Choose a backend: a pin (header, then cookie) the route can serve, even at weight 0; else, on a sticky
 * route, the earlier assignment while it still has weight and upstreams; else a weighted draw among
 * positive-weight backends. `random01` is in [0, 1). Undefined when the route has nothing to send to.
 */
export function chooseBackend(route: Route, random01: number, overrides: RoutingOverrides = {}): Selection | undefined {
  for (const name of [overrides.revision, overrides.cookieRevision]) {
    if (name === undefined) continue;
    const backend = pinned(route, name);
    if (backend) return { backend, via: 'override' };
  }
  if (route.sticky && overrides.sticky !== undefined) {
    const assigned = route.backends.find((backend) => backend.revision === overrides.sticky);
    if (assigned && assigned.weight > 0 && assigned.upstreams.length > 0) return { backend: assigned, via: 'sticky' };
  }
  const drawn = drawByWeight(route, random01);
  return drawn ? { backend: drawn, via: 'weights' } : undefined;
}

/** `chooseBackend` without the reason. */
export function selectBackend(route: Route, random01: number, overrides: RoutingOverrides = {}): Backend | undefined {
  return chooseBackend(route, random01, overrides)?.backend;
}

/**
 * The `Set-Cookie` an answer carries: a new assignment when a sticky route drew by weight (a first visit,
 * or the earlier revision is gone), a removal when a route that is not sticky (any more) sees the cookie.
 */
export function stickyCookieFor(route: Route, selection: Selection, overrides: RoutingOverrides): string | undefined {
  if (route.sticky) return selection.via === 'weights' ? stickyCookie(selection.backend.revision) : undefined;
  return overrides.sticky !== undefined ? clearedStickyCookie() : undefined;
}

/** Where a request goes, and the cookie its answer sets (if any). */
export interface RequestRouting extends Selection {
  setCookie?: string;
}

/**
 * The backend for an incoming request (plain HTTP or a WebSocket upgrade): none for a route marked
 * unavailable, else `chooseBackend` with the request's header and cookies.
 */
export function backendForRequest(
  route: Route,
  headers: Record<string, string | string[] | undefined>,
  random01: number = Math.random(),
): RequestRouting | undefined {
  if (route.unavailableReason !== undefined) return undefined;
  const overrides = routingOverrides(headers);
  const selection = chooseBackend(route, random01, overrides);
  if (!selection) return undefined;
  const setCookie = stickyCookieFor(route, selection, overrides);
  return setCookie === undefined ? selection : { ...selection, setCookie };
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
