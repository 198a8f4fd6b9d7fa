/**
 * pnpm-lock.yaml, lockfileVersion 6 (pnpm 8: `/name@version` keys, dependencies beside the
 * metadata) and 9 (pnpm 9 and 10: `name@version` metadata in `packages`, dependencies in
 * `snapshots` under keys that carry resolved peers, `name@1.0.0(react@18.3.1)`).
 */
import { posix } from 'node:path';
import { integrityHashes } from '../hashes.js';
import type { Edge, EdgeKind, LockedPackage, LockfileGraph, Origin, Problem } from '../model.js';
import { emptyGraph } from '../model.js';
import { npmPurl } from '../purl.js';
import { asString, isObject } from '../text-position.js';
import { describeMissing, nodeOrigin } from './node-common.js';
import { parseYamlLockfile } from './yaml-text.js';

export interface WorkspacePackageFacts {
  name?: string;
  version?: string;
}

export interface PnpmReadOptions {
  file: string;
  /** The service's folder relative to the lockfile's folder ('' when the same). */
  importer: string;
  /** Names and versions of workspace packages by folder (relative to the lockfile's folder): pnpm's lockfile leaves them out. */
  workspacePackages?: Record<string, WorkspacePackageFacts>;
}

type Entry = Record<string, unknown>;

const IMPORTER_GROUPS: Array<[string, EdgeKind]> = [
  ['dependencies', 'required'],
  ['optionalDependencies', 'optional'],
  ['devDependencies', 'dev'],
];
const PACKAGE_GROUPS: Array<[string, EdgeKind]> = [
  ['dependencies', 'required'],
  ['optionalDependencies', 'optional'],
];

export function readPnpmLockfile(text: string, options: PnpmReadOptions): LockfileGraph {
  const { file } = options;
  const parsed = parseYamlLockfile(text, file);
  if ('problem' in parsed) return emptyGraph([parsed.problem]);
  const lock = parsed.value;
  if (!isObject(lock)) return emptyGraph([{ file, message: 'is not a pnpm lockfile (expected a YAML mapping)' }]);
  const major = Number.parseFloat(String(lock.lockfileVersion));
  if (!(major >= 6)) {
    return emptyGraph([{ file, message: `has lockfileVersion ${String(lock.lockfileVersion)}, which is not read (6.0 and 9.0 are); run \`pnpm install\` with pnpm 8 or newer to rewrite it` }]);
  }
  const v9 = major >= 9;
  const metadata = isObject(lock.packages) ? lock.packages : {};
  const snapshots: Record<string, unknown> = v9 ? (isObject(lock.snapshots) ? lock.snapshots : {}) : metadata;
  const importers: Record<string, unknown> = isObject(lock.importers) ? lock.importers : { '.': lock };
  const importerKey = options.importer === '' ? '.' : options.importer;
  const service = importers[importerKey];
  if (!isObject(service)) {
    return emptyGraph([{ file, message: `has no importer "${importerKey}"; the service is not one of its workspace packages (run \`pnpm install\` at the workspace root)` }]);
  }

  const packages = new Map<string, LockedPackage>();
  const missing: string[] = [];
  const problems: Problem[] = [];

  /** The node a dependency reference leads to, created on first sight. */
  const reach = (fromFolder: string | undefined, from: string, name: string, reference: string): string | undefined => {
    if (reference.startsWith('link:')) {
      if (fromFolder === undefined) return undefined;
      const folder = posix.normalize(posix.join(fromFolder === '.' ? '' : fromFolder, reference.slice('link:'.length))).replace(/\/$/, '');
      return workspaceNode(folder === '' ? '.' : folder, name);
    }
    const candidates = v9 ? [`${name}@${reference}`, reference] : reference.startsWith('/') ? [reference] : [`/${name}@${reference}`, reference];
    const key = candidates.find((candidate) => isObject(snapshots[candidate]) || snapshots[candidate] === null);
    if (key === undefined) {
      missing.push(`"${from}" needs "${name}@${reference}"`);
      return undefined;
    }
    if (!packages.has(key)) addPackage(key);
    return key;
  };

  const edgesOf = (entry: Entry, groups: Array<[string, EdgeKind]>, fromFolder: string | undefined, from: string): Edge[] => {
    const edges: Edge[] = [];
    for (const [group, kind] of groups) {
      const deps = entry[group];
      if (!isObject(deps)) continue;
      for (const [name, value] of Object.entries(deps)) {
        // Importers write {specifier, version}; packages write the version alone.
        const reference = isObject(value) ? asString(value.version) : typeof value === 'number' ? String(value) : asString(value);
        if (reference === undefined) continue;
        const to = reach(fromFolder, from, name, reference);
        if (to !== undefined) edges.push({ to, kind });
      }
    }
    return edges;
  };

  const workspaceNode = (folder: string, dependencyName: string): string | undefined => {
    const key = `workspace:${folder}`;
    if (packages.has(key)) return key;
    const importer = importers[folder];
    const facts = options.workspacePackages?.[folder === '.' ? '' : folder] ?? {};
    const name = facts.name ?? dependencyName;
    const version = facts.version ?? '';
    const node: LockedPackage = { key, ecosystem: 'npm', name, version, purl: npmPurl(name, version), origin: 'workspace', hashes: [], distributions: [], licenses: [], dependencies: [] };
    packages.set(key, node);
    if (isObject(importer)) node.dependencies = edgesOf(importer, PACKAGE_GROUPS, folder, name);
    return key;
  };

  const addPackage = (key: string): void => {
    const snapshot = isObject(snapshots[key]) ? (snapshots[key] as Entry) : {};
    const bare = stripPeers(key);
    const meta = (v9 ? metadata[bare] : snapshot) as unknown;
    const info = isObject(meta) ? meta : {};
    const [keyName, keyVersion] = splitKey(v9 ? bare : bare.replace(/^\//, ''));
    const name = asString(info.name) ?? keyName;
    const version = asString(info.version) ?? (typeof info.version === 'number' ? String(info.version) : keyVersion);
    const resolution = isObject(info.resolution) ? info.resolution : {};
    const tarball = asString(resolution.tarball);
    const origin: Origin =
      resolution.type === 'git' || (tarball !== undefined && /codeload\.github\.com|gitlab\.com\/.*\/-\/archive/.test(tarball))
        ? 'git'
        : resolution.type === 'directory' || asString(resolution.directory) !== undefined
          ? 'local'
          : nodeOrigin(tarball, name, version);
    const vcs = asString(resolution.repo);
    const qualifiers: Record<string, string> =
      origin === 'git' ? { vcs_url: vcs ? `${vcs}${asString(resolution.commit) ? `@${asString(resolution.commit)}` : ''}` : (tarball ?? '') } : origin === 'url' && tarball ? { download_url: tarball } : {};
    const node: LockedPackage = {
      key,
      ecosystem: 'npm',
      name,
      version,
      purl: npmPurl(name, version, qualifiers),
      origin,
      hashes: integrityHashes(resolution.integrity),
      distributions: [],
      ...(tarball !== undefined ? { downloadUrl: tarball } : {}),
      licenses: [],
      dependencies: [],
    };
    packages.set(key, node);
    node.dependencies = edgesOf(snapshot, PACKAGE_GROUPS, undefined, `${name}@${version}`);
  };

  const roots = edgesOf(service, IMPORTER_GROUPS, importerKey, importerKey === '.' ? 'the workspace root' : importerKey);
  // The workspace root's install takes in every workspace package.
  if (importerKey === '.') {
    for (const folder of Object.keys(importers).sort()) {
      if (folder === '.' || roots.some((edge) => edge.to === `workspace:${folder}`)) continue;
      const to = workspaceNode(folder, options.workspacePackages?.[folder]?.name ?? folder.slice(folder.lastIndexOf('/') + 1));
      if (to !== undefined) roots.push({ to, kind: 'required' });
    }
  }
  if (missing.length > 0) problems.push({ file, message: describeMissing(missing) });
  return { packages: [...packages.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)), roots, unplaced: [], dependenciesKnown: true, problems };
}

/** `name@1.0.0(react@18.3.1)(x@2)` without the resolved peers. */
function stripPeers(key: string): string {
  const open = key.indexOf('(');
  return open === -1 ? key : key.slice(0, open);
}

/** `@scope/name@1.0.0` -> [`@scope/name`, `1.0.0`]; the name's own `@` is never the split. */
function splitKey(key: string): [string, string] {
  const at = key.indexOf('@', 1);
  return at === -1 ? [key, ''] : [key.slice(0, at), key.slice(at + 1)];
}
