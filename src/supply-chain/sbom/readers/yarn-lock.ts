/**
 * yarn.lock, both formats: yarn 1's own syntax (entries keyed by `name@range`), and yarn 2+
 * ("berry"), which is YAML with `__metadata` and entries keyed by `name@npm:range` descriptors.
 * Neither says which of the service's dependencies are for development, so the service's
 * package.json does (and, for yarn 1, which folders the workspace packages are).
 */
import { integrityHashes, hexHash } from '../hashes.js';
import type { Edge, EdgeKind, LockedPackage, LockfileGraph, Origin, Problem } from '../model.js';
import { emptyGraph } from '../model.js';
import { npmPurl } from '../purl.js';
import { asString, isObject } from '../text-position.js';
import { describeMissing, nodeOrigin } from './node-common.js';
import type { NodeManifest } from './node-manifest.js';
import { parseYarnV1, type YarnV1Block } from './yarn-v1-syntax.js';
import { parseYamlLockfile } from './yaml-text.js';

export interface YarnReadOptions {
  file: string;
  /** The service's folder relative to the lockfile's folder ('' when the same). */
  importer: string;
  /** package.json of the service and of the workspace packages, by folder relative to the lockfile's folder. */
  manifests: Record<string, NodeManifest>;
}

export function readYarnLockfile(text: string, options: YarnReadOptions): LockfileGraph {
  return /^__metadata:/m.test(text) ? readBerry(text, options) : readClassic(text, options);
}

/** Edges from a manifest's declared dependencies, each resolved by `find` (undefined: missing). */
function manifestEdges(manifest: NodeManifest, find: (name: string, range: string) => string | undefined, missing: string[], from: string, withDev: boolean): Edge[] {
  const edges: Edge[] = [];
  for (const { name, range, kind } of manifest.dependencies) {
    if (kind === 'dev' && !withDev) continue;
    const to = find(name, range);
    if (to === undefined) {
      if (kind !== 'optional') missing.push(`"${from}" needs "${name}@${range}"`);
      continue;
    }
    edges.push({ to, kind });
  }
  return edges;
}

/** Folders of the workspace packages, by package name. */
function workspaceFolders(manifests: Record<string, NodeManifest>): Map<string, string> {
  const byName = new Map<string, string>();
  for (const [folder, manifest] of Object.entries(manifests)) if (manifest.name) byName.set(manifest.name, folder);
  return byName;
}

function workspacePackage(folder: string, manifest: NodeManifest | undefined, fallbackName: string): LockedPackage {
  const name = manifest?.name ?? fallbackName;
  const version = manifest?.version ?? '';
  return { key: `workspace:${folder}`, ecosystem: 'npm', name, version, purl: npmPurl(name, version), origin: 'workspace', hashes: [], distributions: [], licenses: [], dependencies: [] };
}

function readClassic(text: string, options: YarnReadOptions): LockfileGraph {
  const { file, importer, manifests } = options;
  const parsed = parseYarnV1(text);
  if (!parsed.ok) return emptyGraph([{ file, line: parsed.line, message: `is not a valid yarn lockfile: line ${parsed.line} ${parsed.message}` }]);
  const entries = parsed.value;
  const packages = new Map<string, LockedPackage>();
  const missing: string[] = [];
  const byName = workspaceFolders(manifests);

  const find = (name: string, range: string): string | undefined => {
    const entry = entries[`${name}@${range}`];
    if (isObject(entry)) {
      const block = entry as YarnV1Block;
      // One block may answer several ranges: its first line identifies it.
      const key = `${name}@${String(block.version ?? '')}#${parsed.lines.get(block) ?? 0}`;
      if (!packages.has(key)) addEntry(key, name, range, block);
      return key;
    }
    const folder = byName.get(name);
    return folder === undefined ? undefined : addWorkspace(folder, name);
  };

  const addWorkspace = (folder: string, name: string): string => {
    const key = `workspace:${folder}`;
    if (packages.has(key)) return key;
    const node = workspacePackage(folder, manifests[folder], name);
    packages.set(key, node);
    const manifest = manifests[folder];
    if (manifest) node.dependencies = manifestEdges(manifest, find, missing, name, false);
    return key;
  };

  const addEntry = (key: string, requestedName: string, range: string, block: YarnV1Block): void => {
    // An alias (`name@npm:real@1.0.0`) installs `real`.
    const alias = /^npm:((?:@[^/@]+\/)?[^@]+)@/.exec(range);
    const name = alias ? alias[1]! : requestedName;
    const version = typeof block.version === 'string' ? block.version : '';
    const resolved = typeof block.resolved === 'string' ? block.resolved : undefined;
    const origin = nodeOrigin(resolved, name, version);
    const fragment = resolved?.includes('#') ? resolved.slice(resolved.lastIndexOf('#') + 1) : undefined;
    const hashes = integrityHashes(block.integrity);
    const sha1 = hashes.length === 0 ? hexHash(fragment, 'SHA-1') : undefined;
    const node: LockedPackage = {
      key,
      ecosystem: 'npm',
      name,
      version,
      purl: npmPurl(name, version, qualifiersFor(origin, resolved)),
      origin,
      hashes: sha1 ? [sha1] : hashes,
      distributions: [],
      ...(resolved !== undefined ? { downloadUrl: resolved } : {}),
      licenses: [],
      dependencies: [],
    };
    packages.set(key, node);
    const from = `${name}@${version}`;
    for (const [group, kind] of [['dependencies', 'required'], ['optionalDependencies', 'optional']] as Array<[string, EdgeKind]>) {
      const deps = block[group];
      if (!isObject(deps)) continue;
      for (const [depName, depRange] of Object.entries(deps as YarnV1Block)) {
        if (typeof depRange !== 'string') continue;
        const to = find(depName, depRange);
        if (to === undefined) {
          if (kind === 'required') missing.push(`"${from}" needs "${depName}@${depRange}"`);
          continue;
        }
        node.dependencies.push({ to, kind });
      }
    }
  };

  return finish(file, importer, manifests, packages, missing, find, byName, addWorkspace);
}

function readBerry(text: string, options: YarnReadOptions): LockfileGraph {
  const { file, importer, manifests } = options;
  const parsed = parseYamlLockfile(text, file);
  if ('problem' in parsed) return emptyGraph([parsed.problem]);
  if (!isObject(parsed.value)) return emptyGraph([{ file, message: 'is not a yarn lockfile (expected a YAML mapping)' }]);
  const descriptors = new Map<string, Record<string, unknown>>();
  for (const [keys, entry] of Object.entries(parsed.value)) {
    if (keys === '__metadata' || !isObject(entry)) continue;
    for (const descriptor of keys.split(',')) descriptors.set(descriptor.trim(), entry);
  }
  const packages = new Map<string, LockedPackage>();
  const missing: string[] = [];
  const byName = workspaceFolders(manifests);

  const lookup = (name: string, range: string): Record<string, unknown> | undefined =>
    descriptors.get(`${name}@${range}`) ?? (range.includes(':') ? undefined : descriptors.get(`${name}@npm:${range}`));

  const find = (name: string, range: string): string | undefined => {
    const entry = lookup(name, range);
    const resolution = entry ? asString(entry.resolution) : undefined;
    if (!entry || resolution === undefined) return undefined;
    if (!packages.has(resolution)) addEntry(resolution, entry);
    return resolution;
  };

  const addWorkspace = (folder: string, name: string): string | undefined => find(name, `workspace:${folder === '' ? '.' : folder}`);

  const addEntry = (resolution: string, entry: Record<string, unknown>): void => {
    const at = resolution.indexOf('@', 1);
    const name = at === -1 ? resolution : resolution.slice(0, at);
    const reference = at === -1 ? '' : resolution.slice(at + 1);
    const protocol = berryProtocol(reference);
    const workspace = protocol === 'workspace' ? reference.slice('workspace:'.length) : undefined;
    const folder = workspace === '.' ? '' : workspace;
    const version = folder !== undefined ? (manifests[folder]?.version ?? '') : (asString(entry.version) ?? String(entry.version ?? ''));
    const origin: Origin = folder !== undefined ? 'workspace' : protocol === 'npm' ? 'registry' : protocol === 'git' ? 'git' : protocol === 'url' ? 'url' : 'local';
    const source = reference.replace(/^[a-z]+:/, '');
    const node: LockedPackage = {
      key: resolution,
      ecosystem: 'npm',
      name,
      version,
      purl: npmPurl(name, version, qualifiersFor(origin, source)),
      origin,
      // Berry's `checksum` is of the zip in yarn's own cache, not of the package's tarball: no use to anyone else.
      hashes: [],
      distributions: [],
      licenses: [],
      dependencies: [],
    };
    packages.set(resolution, node);
    const meta = isObject(entry.dependenciesMeta) ? entry.dependenciesMeta : {};
    const deps = isObject(entry.dependencies) ? entry.dependencies : {};
    for (const [depName, depRange] of Object.entries(deps)) {
      if (typeof depRange !== 'string') continue;
      const optional = isObject(meta[depName]) && (meta[depName] as Record<string, unknown>).optional === true;
      const to = find(depName, depRange);
      if (to === undefined) {
        if (!optional) missing.push(`"${name}@${version}" needs "${depName}@${depRange}"`);
        continue;
      }
      node.dependencies.push({ to, kind: optional ? 'optional' : 'required' });
    }
  };

  const serviceFolder = importer === '' ? '.' : importer;
  const serviceEntry = [...descriptors.values()].find((entry) => asString(entry.resolution)?.endsWith(`@workspace:${serviceFolder}`));
  if (!serviceEntry) {
    return emptyGraph([{ file, message: `has no workspace "${serviceFolder}"; the service is not one of its workspaces (run \`yarn install\` at the workspace root)` }]);
  }
  // The service itself is the root, not a component: take its edges, then drop it.
  const serviceKey = asString(serviceEntry.resolution)!;
  if (!manifests[importer]) {
    addEntry(serviceKey, serviceEntry);
    const roots = packages.get(serviceKey)!.dependencies;
    packages.delete(serviceKey);
    return result(file, packages, roots, missing);
  }
  return finish(file, importer, manifests, packages, missing, find, byName, addWorkspace);
}

/** Roots from the service's package.json; a workspace root's own service also takes in every workspace package. */
function finish(
  file: string,
  importer: string,
  manifests: Record<string, NodeManifest>,
  packages: Map<string, LockedPackage>,
  missing: string[],
  find: (name: string, range: string) => string | undefined,
  byName: Map<string, string>,
  addWorkspace: (folder: string, name: string) => string | undefined,
): LockfileGraph {
  const manifest = manifests[importer];
  if (!manifest) return emptyGraph([{ file, message: `was found, but the service's package.json could not be read, so its dependencies are unknown` }]);
  const roots = manifestEdges(manifest, (name, range) => (byName.get(name) !== undefined && byName.get(name) !== importer && /^workspace:|^\*$/.test(range) ? addWorkspace(byName.get(name)!, name) : find(name, range)), missing, manifest.name ?? 'the service', true);
  if (importer === '' && manifest.workspaces.length > 0) {
    for (const [name, folder] of [...byName].sort()) {
      if (folder === '') continue;
      const to = addWorkspace(folder, name);
      if (to !== undefined && !roots.some((edge) => edge.to === to)) roots.push({ to, kind: 'required' });
    }
  }
  // The service's own node (a workspace package depending on itself through others) is not a component.
  packages.delete(`workspace:${importer}`);
  for (const [key, pkg] of packages) if (pkg.origin === 'workspace' && key.endsWith(`@workspace:${importer === '' ? '.' : importer}`)) packages.delete(key);
  return result(file, packages, roots, missing);
}

function result(file: string, packages: Map<string, LockedPackage>, roots: Edge[], missing: string[]): LockfileGraph {
  const problems: Problem[] = missing.length > 0 ? [{ file, message: describeMissing(missing) }] : [];
  return { packages: [...packages.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)), roots, unplaced: [], dependenciesKnown: true, problems };
}

function berryProtocol(reference: string): 'npm' | 'workspace' | 'git' | 'url' | 'local' {
  if (reference.startsWith('npm:')) return 'npm';
  if (reference.startsWith('workspace:')) return 'workspace';
  // A patched package is still the registry's, with yarn's fix applied.
  if (reference.startsWith('patch:')) return /npm%3A/.test(reference) ? 'npm' : 'local';
  if (/^(git|github|https?:\/\/.*\.git|ssh)/.test(reference) || reference.includes('#commit=')) return 'git';
  if (/^https?:/.test(reference)) return 'url';
  return 'local';
}

function qualifiersFor(origin: Origin, source: string | undefined): Record<string, string> {
  if (!source) return {};
  if (origin === 'git') return { vcs_url: source };
  if (origin === 'url') return { download_url: source };
  return {};
}
