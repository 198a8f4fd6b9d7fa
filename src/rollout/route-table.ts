import type { Backend, Route, RouteTable } from '../router/index.js';

/** Where a service in an environment is served: `<service>.<environment>.<project>.localhost`. */
export function serviceHost(project: string, service: string, environment: string): string {
  return `${service}.${environment}.${project}.localhost`;
}

/** Where a rollout's new revision can be tried before it takes traffic (blue/green previews). */
export function previewHost(project: string, service: string, environment: string): string {
  return `${service}.preview.${environment}.${project}.localhost`;
}

export function serviceUrl(project: string, service: string, environment: string, routerPort: number): string {
  return `http://${serviceHost(project, service, environment)}:${routerPort}/`;
}

/** The router's address for a replica: replicas listen on loopback, on the port the agent gave them. */
export function replicaUpstream(port: number): string {
  return `127.0.0.1:${port}`;
}

export interface LiveService {
  project: string;
  service: string;
  environment: string;
  /** Traffic split; a plain deploy has one revision at 100. */
  weights: Array<{ revisionId: string; weight: number }>;
  /** A rollout's new revision, also served alone at the preview host. */
  previewRevisionId?: string;
  /** The revision a rollout is moving traffic to: overrides name it `canary`, the other revision `stable`. */
  canaryRevisionId?: string;
  /** Keep each client on the revision it was first assigned while the split lasts (canary `sticky: true`). */
  sticky?: boolean;
}

export interface ReplicaEndpoint {
  revisionId: string;
  port: number;
  healthy: boolean;
}

/**
 * The route table the router should serve, derived from what is live (the store) and which replicas
 * answer their health checks (the agent). Pure: the one place route tables are made.
 */
export function composeRouteTable(live: LiveService[], replicas: ReplicaEndpoint[], version: number): RouteTable {
  const healthyByRevision = new Map<string, string[]>();
  for (const replica of replicas) {
    if (!replica.healthy) continue;
    const list = healthyByRevision.get(replica.revisionId) ?? [];
    list.push(replicaUpstream(replica.port));
    healthyByRevision.set(replica.revisionId, list);
  }

  const entries = live.flatMap((entry) =>
    entry.previewRevisionId
      ? [entry, { ...entry, preview: true, weights: [{ revisionId: entry.previewRevisionId, weight: 100 }] }]
      : [entry],
  ) as Array<LiveService & { preview?: boolean }>;
  const routes: Route[] = entries.map((entry) => {
    const base = {
      host: (entry.preview ? previewHost : serviceHost)(entry.project, entry.service, entry.environment),
      project: entry.project,
      service: entry.service,
      environment: entry.environment,
    };
    const backends: Backend[] = [];
    const missing: string[] = [];
    // One backend per revision, whatever the split listed.
    const weights = new Map<string, number>();
    for (const { revisionId, weight } of entry.weights) weights.set(revisionId, (weights.get(revisionId) ?? 0) + weight);
    for (const [revisionId, weight] of weights) {
      if (weight <= 0) continue;
      const upstreams = (healthyByRevision.get(revisionId) ?? []).sort();
      if (upstreams.length === 0) missing.push(revisionId);
      else backends.push({ revision: revisionId, weight, upstreams, ...roleOf(entry, revisionId) });
    }
    if (backends.length === 0) {
      const which = missing.length > 0 ? ` (revision ${missing.join(', ')})` : '';
      return { ...base, backends: [], unavailableReason: `${entry.service} has no healthy replica${which} in ${entry.environment}` };
    }
    return { ...base, backends: normaliseWeights(backends), ...(entry.sticky && !entry.preview ? { sticky: true } : {}) };
  });
  routes.sort((a, b) => a.host.localeCompare(b.host));
  return { version, routes };
}

/**
 * During a split on the service's own host, which side a revision is: the canary, or the stable one
 * (the first other revision of the split, the live one); nothing otherwise.
 */
function roleOf(entry: LiveService & { preview?: boolean }, revisionId: string): Pick<Backend, 'role'> {
  if (entry.preview || entry.canaryRevisionId === undefined) return {};
  if (revisionId === entry.canaryRevisionId) return { role: 'canary' };
  const stable = entry.weights.find((split) => split.revisionId !== entry.canaryRevisionId)?.revisionId;
  return revisionId === stable ? { role: 'stable' } : {};
}

/** Weights of the backends that can serve, rescaled to sum to exactly 100 (the router's invariant). */
export function normaliseWeights(backends: Backend[]): Backend[] {
  const total = backends.reduce((sum, backend) => sum + backend.weight, 0);
  if (total === 100) return backends;
  const scaled = backends.map((backend) => ({ ...backend, weight: Math.floor((backend.weight * 100) / total) }));
  let remainder = 100 - scaled.reduce((sum, backend) => sum + backend.weight, 0);
  // Hand the rounding remainder to the heaviest backends first.
  const order = [...scaled.keys()].sort((a, b) => backends[b]!.weight - backends[a]!.weight);
  for (let i = 0; remainder > 0; i = (i + 1) % order.length, remainder -= 1) scaled[order[i]!]!.weight += 1;
  return scaled.filter((backend) => backend.weight > 0);
}
