/** What the Python lockfile readers share: one way to make a PyPI package and to name its roots. */
import type { Distribution, Edge, EdgeKind, Hash, LockedPackage, Origin } from '../model.js';
import { pep503Name, pypiPurl } from '../purl.js';

export interface PythonPackageInput {
  key: string;
  name: string;
  version: string;
  origin?: Origin;
  /** The git repository or URL a non-registry package came from. */
  source?: string;
  hashes?: Hash[];
  distributions?: Distribution[];
  downloadUrl?: string;
}

export function pythonPackage(input: PythonPackageInput): LockedPackage {
  const origin = input.origin ?? 'registry';
  const qualifiers: Record<string, string> =
    input.source && origin === 'git' ? { vcs_url: input.source } : input.source && origin === 'url' ? { download_url: input.source } : {};
  return {
    key: input.key,
    ecosystem: 'PyPI',
    name: input.name,
    version: input.version,
    purl: pypiPurl(input.name, input.version, qualifiers),
    origin,
    hashes: input.hashes ?? [],
    distributions: input.distributions ?? [],
    ...(input.downloadUrl ? { downloadUrl: input.downloadUrl } : {}),
    licenses: [],
    dependencies: [],
  };
}

/** Edges to every locked package of each name (a lockfile may hold several versions, one per environment marker). */
export function edgesByName(names: ReadonlyArray<{ name: string; kind: EdgeKind }>, byName: ReadonlyMap<string, readonly LockedPackage[]>): Edge[] {
  const edges: Edge[] = [];
  for (const { name, kind } of names) for (const pkg of byName.get(pep503Name(name)) ?? []) edges.push({ to: pkg.key, kind });
  return edges;
}

export function indexByName(packages: readonly LockedPackage[]): Map<string, LockedPackage[]> {
  const byName = new Map<string, LockedPackage[]>();
  for (const pkg of packages) {
    const key = pep503Name(pkg.name);
    byName.set(key, [...(byName.get(key) ?? []), pkg]);
  }
  return byName;
}

/** Packages nothing else in the lockfile depends on: the project's own choices, when nothing better says. */
export function topLevel(packages: readonly LockedPackage[]): LockedPackage[] {
  const needed = new Set(packages.flatMap((pkg) => pkg.dependencies.map((edge) => edge.to)));
  return packages.filter((pkg) => !needed.has(pkg.key));
}
