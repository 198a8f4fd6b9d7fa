/**
 * uv.lock (TOML): every package with its source, its dependencies (with extras and dev groups
 * apart), and the sdist and wheels it may be installed from with their hashes. The project itself
 * (and each workspace member) is a package whose source is `editable` or `virtual` with its folder.
 */
import { hexHash } from '../hashes.js';
import type { Distribution, Edge, EdgeKind, LockedPackage, LockfileGraph, Origin } from '../model.js';
import { emptyGraph } from '../model.js';
import { pep503Name } from '../purl.js';
import { asString, isObject } from '../text-position.js';
import { pythonPackage } from './python-common.js';
import { parseTomlFile } from './toml-text.js';

export interface UvReadOptions {
  file: string;
  /** The service's folder relative to the lockfile's folder ('' when the same). */
  importer: string;
}

type Table = Record<string, unknown>;

export function readUvLock(text: string, options: UvReadOptions): LockfileGraph {
  const { file } = options;
  const parsed = parseTomlFile(text, file);
  if ('problem' in parsed) return emptyGraph([parsed.problem]);
  const tables = Array.isArray(parsed.value.package) ? parsed.value.package.filter(isObject) : [];
  const importerFolder = options.importer === '' ? '.' : options.importer;

  const entries: Array<{ table: Table; pkg: LockedPackage; folder?: string }> = [];
  for (const table of tables) {
    const name = asString(table.name);
    if (!name) continue;
    const version = asString(table.version) ?? '';
    const source = isObject(table.source) ? table.source : {};
    const folder = asString(source.editable) ?? asString(source.virtual);
    const origin: Origin = folder !== undefined ? 'workspace' : 'git' in source ? 'git' : 'url' in source ? 'url' : 'path' in source || 'directory' in source ? 'local' : 'registry';
    const location = asString(source.git) ?? asString(source.url);
    const pkg = pythonPackage({
      key: `${pep503Name(name)}==${version}#${entries.length}`,
      name,
      version,
      origin,
      ...(location ? { source: location } : {}),
      distributions: distributions(table),
    });
    entries.push({ table, pkg, ...(folder !== undefined ? { folder: normalizeFolder(folder) } : {}) });
  }

  const byName = new Map<string, typeof entries>();
  for (const entry of entries) {
    const key = pep503Name(entry.pkg.name);
    byName.set(key, [...(byName.get(key) ?? []), entry]);
  }
  /** `{ name = "x", version = "1" }`: the version (and source) only appear when the lockfile holds several. */
  const edges = (list: unknown, kind: EdgeKind): Edge[] => {
    if (!Array.isArray(list)) return [];
    const out: Edge[] = [];
    for (const item of list) {
      if (!isObject(item) || typeof item.name !== 'string') continue;
      const version = asString(item.version);
      for (const candidate of byName.get(pep503Name(item.name)) ?? []) {
        if (version === undefined || candidate.pkg.version === version) out.push({ to: candidate.pkg.key, kind });
      }
    }
    return out;
  };
  const groups = (table: unknown, kind: EdgeKind): Edge[] => (isObject(table) ? Object.values(table).flatMap((list) => edges(list, kind)) : []);
  const edgesOf = (table: Table, withDev: boolean): Edge[] => [
    ...edges(table.dependencies, 'required'),
    ...groups(table['optional-dependencies'], 'optional'),
    ...(withDev ? groups(table['dev-dependencies'], 'dev') : []),
  ];

  const service = entries.find((entry) => entry.folder === importerFolder);
  if (!service) {
    return emptyGraph([{ file, message: `has no package for the folder "${importerFolder}"; the service is not one of its workspace members (run \`uv lock\` at the workspace root)` }]);
  }
  for (const entry of entries) entry.pkg.dependencies = edgesOf(entry.table, false);
  const roots = edgesOf(service.table, true);
  return { packages: entries.filter((entry) => entry !== service).map((entry) => entry.pkg), roots, unplaced: [], dependenciesKnown: true, problems: [] };
}

function distributions(table: Table): Distribution[] {
  const files = [table.sdist, ...(Array.isArray(table.wheels) ? table.wheels : [])];
  const out: Distribution[] = [];
  for (const file of files) {
    if (!isObject(file)) continue;
    const url = asString(file.url) ?? asString(file.path) ?? asString(file.filename);
    const hash = hexHash(file.hash);
    if (url && hash) out.push({ url, hashes: [hash] });
  }
  return out;
}

function normalizeFolder(folder: string): string {
  const trimmed = folder.replace(/^\.\//, '').replace(/\/$/, '');
  return trimmed === '' ? '.' : trimmed;
}
