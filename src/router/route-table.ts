import { z } from 'zod';
import { MaestroError } from '../common/index.js';

/** One revision behind a route, with its share of traffic and the addresses of its replicas. */
export interface Backend {
  revision: string;
  /** Integer percentage of traffic; the weights of a route's backends sum to 100. */
  weight: number;
  /** `host:port` of each replica, e.g. `127.0.0.1:41234`. */
  upstreams: string[];
  /** During a rollout: which side of the split this is, so overrides can say `canary` or `stable`. */
  role?: BackendRole;
}

export const BACKEND_ROLES = ['stable', 'canary'] as const;
export type BackendRole = (typeof BACKEND_ROLES)[number];

/** A host the router answers for, and where its traffic goes. */
export interface Route {
  /** Lowercase, no port, e.g. `web.production.shop.localhost`. */
  host: string;
  project: string;
  service: string;
  environment: string;
  backends: Backend[];
  /** Set when the service exists but nothing healthy is behind it: the router answers 503 with it. */
  unavailableReason?: string;
  /**
   * Each client is assigned a revision by weight once and kept there by the `maestro-sticky` cookie
   * while that revision is in the route with weight and upstreams.
   */
  sticky?: boolean;
  /**
   * A sleeping environment (an idle preview): a request that finds nothing healthy here asks this URL
   * to start it again and waits for a table that can serve it.
   */
  wakeUrl?: string;
}

/** What the control plane pushes; `version` only ever grows, an older table is refused. */
export interface RouteTable {
  version: number;
  routes: Route[];
}

// Hostname labels (letters, digits, hyphens, underscores for odd internal names), dot-separated.
const HOST_PATTERN = /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/;
// `host:port` where host is an IPv4 address, a hostname, or a bracketed IPv6 address.
const UPSTREAM_PATTERN = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$/;

const upstreamSchema = z.string().refine(
  (value) => {
    const match = UPSTREAM_PATTERN.exec(value);
    if (!match) return false;
    const port = Number(match[2]);
    return port >= 1 && port <= 65_535;
  },
  { message: 'an upstream is "host:port" with a port from 1 to 65535, e.g. "127.0.0.1:41234"' },
);

const backendSchema = z.object({
  revision: z.string().min(1, 'a backend needs its revision id'),
  weight: z.number().int('weights are whole percentages').min(0).max(100),
  upstreams: z.array(upstreamSchema),
  role: z.enum(BACKEND_ROLES, { error: 'a backend role is "stable" or "canary"' }).optional(),
});

const routeSchema = z
  .object({
    host: z
      .string()
      .regex(HOST_PATTERN, 'a route host is a lowercase hostname without a port, e.g. "web.production.shop.localhost"'),
    project: z.string().min(1),
    service: z.string().min(1),
    environment: z.string().min(1),
    backends: z.array(backendSchema),
    unavailableReason: z.string().min(1).optional(),
    sticky: z.boolean().optional(),
    wakeUrl: z.url({ error: 'wakeUrl is the http URL the router asks to wake a sleeping environment' }).optional(),
  })
  .superRefine((route, ctx) => {
    if (route.backends.length > 0) {
      const total = route.backends.reduce((sum, backend) => sum + backend.weight, 0);
      if (total !== 100) {
        ctx.addIssue({
          code: 'custom',
          path: ['backends'],
          message: `the weights of ${route.host}'s backends sum to ${total}; they must sum to 100`,
        });
      }
    }
    const seen = new Set<string>();
    const roles = new Set<BackendRole>();
    route.backends.forEach((backend, index) => {
      if (backend.role !== undefined) {
        if (roles.has(backend.role)) {
          ctx.addIssue({
            code: 'custom',
            path: ['backends', index, 'role'],
            message: `${route.host} has two ${backend.role} backends; at most one backend takes each role`,
          });
        }
        roles.add(backend.role);
      }
      if (seen.has(backend.revision)) {
        ctx.addIssue({
          code: 'custom',
          path: ['backends', index, 'revision'],
          message: `revision ${backend.revision} appears twice in ${route.host}; merge its upstreams into one backend`,
        });
      }
      seen.add(backend.revision);
      if (backend.weight > 0 && backend.upstreams.length === 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['backends', index, 'upstreams'],
          message: `revision ${backend.revision} has weight ${backend.weight} but no upstreams; give it upstreams or weight 0`,
        });
      }
    });
  });

const routeTableSchema = z
  .object({
    version: z.number().int().min(0, 'the table version is a non-negative integer'),
    routes: z.array(routeSchema),
  })
  .superRefine((table, ctx) => {
    const seen = new Set<string>();
    table.routes.forEach((route, index) => {
      if (seen.has(route.host)) {
        ctx.addIssue({ code: 'custom', path: ['routes', index, 'host'], message: `host ${route.host} has two routes` });
      }
      seen.add(route.host);
    });
  });

/** A route table checked for shape, weights and duplicates; throws `validation_error` saying what to fix. */
export function validateRouteTable(input: unknown): RouteTable {
  const result = routeTableSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => ({
    path: issue.path.map(String).join('.') || '(table)',
    message: issue.message,
  }));
  const summary = problems
    .slice(0, 3)
    .map((problem) => `${problem.path}: ${problem.message}`)
    .join('; ');
  throw new MaestroError('validation_error', `Invalid route table: ${summary}`, { problems });
}

/** The route for a host, by exact match; tables are small enough that a Map per table is plenty. */
export function indexRoutes(table: RouteTable): Map<string, Route> {
  return new Map(table.routes.map((route) => [route.host, route]));
}

/** Every revision a table sends traffic to (or may, through an override). */
export function revisionsOf(table: RouteTable): Set<string> {
  const revisions = new Set<string>();
  for (const route of table.routes) for (const backend of route.backends) revisions.add(backend.revision);
  return revisions;
}
