/**
 * npm's package-lock.json (and npm-shrinkwrap.json), lockfileVersion 2 and 3: the `packages` map
 * of install paths. Dependencies are found the way Node finds them (the nearest node_modules up
 * the tree), links lead to the workspace folders they stand for.
 */
import { parentOf } from '../../../build/tree-paths.js';
import { integrityHashes } from '../hashes.js';
import type { Edge, EdgeKind, LockedPackage, LockfileGraph, Origin, Problem } from '../model.js';
import { emptyGraph } from '../model.js';
import { npmPurl } from '../purl.js';
import { asString, isObject, parseJson, stringEntries } from '../text-position.js';
import { describeMissing, nodeOrigin } from './node-common.js';

export interface NpmReadOptions {
  /** The lockfile's path, for problems. */
  file: string;
  /** The service's folder relative to the lockfile's folder ('' when they are the same). */
  importer: string;
}

type Entry = Record<string, unknown>;

export function readNpmLockfile(text: string, options: NpmReadOptions): LockfileGraph {
  const { file, importer } = options;
  const parsed = parseJson(text, file);
  if ('problem' in parsed) return emptyGraph([parsed.problem]);
  const lock = parsed.value;
  if (!isObject(lock)) return emptyGraph([{ file, message: 'is not an npm lockfile (expected a JSON object)' }]);
  if (!isObject(lock.packages)) {
    const version = typeof lock.lockfileVersion === 'number' ? lock.lockfileVersion : 'unknown';
    return emptyGraph([
      { file, message: `has lockfileVersion ${version} without a "packages" map, which is not read; run \`npm install\` with npm 7 or newer to rewrite it` },
    ]);
  }
  const entries = new Map<string, Entry>();
  for (const [path, entry] of Object.entries(lock.packages)) if (isObject(entry)) entries.set(path, entry);

  const service = entries.get(importer);
  if (!service) {
    return emptyGraph([{ file, message: `has no entry for "${importer}"; the service is not one of its workspace packages (run \`npm install\` at the workspace root)` }]);
  }

  const problems: Problem[] = [];
  const missing: string[] = [];
  const workspaceFolders = new Set<string>();
  for (const entry of entries.values()) {
    const target = asString(entry.resolved);
    if (entry.link === true && target !== undefined && !target.includes('node_modules/')) workspaceFolders.add(target);
  }

  /** A link's target, or the path itself. */
  const follow = (path: string): string | undefined => {
    const entry = entries.get(path);
    if (!entry) return undefined;
    if (entry.link !== true) return path;
    const target = asString(entry.resolved);
    return target !== undefined && entries.has(target) ? target : undefined;
  };

  const resolveFrom = (from: string, name: string): string | undefined => {
    for (let folder = from; ; folder = parentOf(folder)) {
      const last = folder.slice(folder.lastIndexOf('/') + 1);
      if (last !== 'node_modules') {
        const candidate = folder === '' ? `node_modules/${name}` : `${folder}/node_modules/${name}`;
        if (entries.has(candidate)) return follow(candidate);
      }
      if (folder === '') return undefined;
    }
  };

  const edgesOf = (path: string, entry: Entry, withDev: boolean): Edge[] => {
    const edges: Edge[] = [];
    const peerMeta = isObject(entry.peerDependenciesMeta) ? entry.peerDependenciesMeta : {};
    const groups: Array<[unknown, EdgeKind, 'report' | 'quiet']> = [
      [entry.dependencies, 'required', 'report'],
      [entry.optionalDependencies, 'optional', 'quiet'],
      // npm 7+ installs peers; one nobody provides is npm's warning, not a missing package.
      [entry.peerDependencies, 'required', 'quiet'],
      ...(withDev ? [[entry.devDependencies, 'dev', 'report'] as [unknown, EdgeKind, 'report']] : []),
    ];
    const seen = new Set<string>();
    for (const [group, kind, onMissing] of groups) {
      for (const [name] of stringEntries(group)) {
        if (seen.has(name)) continue;
        seen.add(name);
        const to = resolveFrom(path, name);
        const optionalPeer = group === entry.peerDependencies && isObject(peerMeta[name]) && peerMeta[name].optional === true;
        if (to === undefined) {
          if (onMissing === 'report') missing.push(`"${displayName(path, entry)}" needs "${name}"`);
          continue;
        }
        edges.push({ to, kind: optionalPeer ? 'optional' : kind });
      }
    }
    return edges;
  };

  const packages: LockedPackage[] = [];
  for (const [path, entry] of entries) {
    if (path === '' || path === importer || entry.link === true) continue;
    packages.push(lockedPackage(path, entry, edgesOf(path, entry, false), workspaceFolders));
  }

  const roots = edgesOf(importer, service, true);
  // The workspace root's install takes in every workspace package.
  if (importer === '' && Array.isArray(service.workspaces)) {
    for (const folder of [...workspaceFolders].sort()) if (entries.has(folder) && !roots.some((edge) => edge.to === folder)) roots.push({ to: folder, kind: 'required' });
  }
  if (missing.length > 0) problems.push({ file, message: describeMissing(missing) });
  return { packages, roots, unplaced: [], dependenciesKnown: true, problems };
}

function lockedPackage(path: string, entry: Entry, dependencies: Edge[], workspaceFolders: ReadonlySet<string>): LockedPackage {
  const name = displayName(path, entry);
  const version = asString(entry.version) ?? '';
  const resolved = asString(entry.resolved);
  const underNodeModules = path.startsWith('node_modules/') || path.includes('/node_modules/');
  const origin: Origin = underNodeModules ? nodeOrigin(resolved, name, version) : workspaceFolders.has(path) && !path.startsWith('../') ? 'workspace' : 'local';
  const qualifiers: Record<string, string> =
    origin === 'git' && resolved ? { vcs_url: resolved } : origin === 'url' && resolved ? { download_url: resolved } : {};
  const license = asString(entry.license);
  return {
    key: path,
    ecosystem: 'npm',
    name,
    version,
    purl: npmPurl(name, version, qualifiers),
    origin,
    hashes: integrityHashes(entry.integrity),
    distributions: [],
    ...(resolved !== undefined && underNodeModules ? { downloadUrl: resolved } : {}),
    licenses: license ? [license] : [],
    dependencies,
  };
}

/** The package's name: its `name` field (aliases, workspace folders), else the last name in its path. */
function displayName(path: string, entry: Entry): string {
  const named = asString(entry.name);
  if (named) return named;
  const marker = path.lastIndexOf('node_modules/');
  if (marker !== -1) return path.slice(marker + 'node_modules/'.length);
  return path.slice(path.lastIndexOf('/') + 1) || path;
}
