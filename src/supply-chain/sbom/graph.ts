/**
 * Which locked packages a service has, and how it needs each. Walking from the service's own
 * dependencies, a package is `required` when some path reaches it through ordinary dependencies
 * only, `optional` when every path to it takes an optional step, and `excluded` when only
 * development dependencies lead to it. Packages no path reaches belong to
 * another workspace member (or nobody) and are left out.
 */
import type { Edge, LockedPackage, LockfileGraph, Scope } from './model.js';

export interface PlacedPackage {
  pkg: LockedPackage;
  scope: Scope;
  direct: boolean;
}

const RANK: Record<Scope, number> = { excluded: 1, optional: 2, required: 3 };

function scopeThrough(parent: Scope, edge: Edge): Scope {
  if (edge.kind === 'dev') return 'excluded';
  if (edge.kind === 'optional') return parent === 'required' ? 'optional' : parent;
  return parent;
}

export function placePackages(graph: LockfileGraph): PlacedPackage[] {
  const byKey = new Map(graph.packages.map((pkg) => [pkg.key, pkg]));
  const scopes = new Map<string, Scope>();
  const direct = new Set<string>();
  const pending: string[] = [];

  const offer = (key: string, scope: Scope): void => {
    if (!byKey.has(key)) return;
    const known = scopes.get(key);
    if (known !== undefined && RANK[known] >= RANK[scope]) return;
    scopes.set(key, scope);
    pending.push(key);
  };

  for (const edge of graph.roots) {
    if (!byKey.has(edge.to)) continue;
    direct.add(edge.to);
    offer(edge.to, scopeThrough('required', edge));
  }
  for (const { key, scope } of graph.unplaced) offer(key, scope);

  // Scopes only ever rise, through three ranks, so this ends.
  while (pending.length > 0) {
    const key = pending.pop()!;
    const scope = scopes.get(key)!;
    for (const edge of byKey.get(key)!.dependencies) offer(edge.to, scopeThrough(scope, edge));
  }

  return graph.packages.filter((pkg) => scopes.has(pkg.key)).map((pkg) => ({ pkg, scope: scopes.get(pkg.key)!, direct: direct.has(pkg.key) }));
}
