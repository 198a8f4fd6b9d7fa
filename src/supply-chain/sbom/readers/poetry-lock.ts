/**
 * poetry.lock (TOML): `[[package]]` tables with their dependencies by name, the files of each
 * release with hashes (inline since Poetry 1.5, in `[metadata.files]` before), and `[package.source]`
 * for packages from git, a URL or a folder. pyproject.toml says which packages are the project's own.
 */
import { hexHash } from '../hashes.js';
import type { Distribution, Edge, EdgeKind, LockedPackage, LockfileGraph, Origin } from '../model.js';
import { emptyGraph } from '../model.js';
import { pep503Name } from '../purl.js';
import { asString, isObject } from '../text-position.js';
import type { PyprojectFacts } from './pyproject.js';
import { edgesByName, indexByName, pythonPackage, topLevel } from './python-common.js';
import { parseTomlFile } from './toml-text.js';

export interface PoetryReadOptions {
  file: string;
  /** The project's pyproject.toml, when it could be read: it names the direct dependencies. */
  pyproject?: PyprojectFacts;
}

export function readPoetryLock(text: string, options: PoetryReadOptions): LockfileGraph {
  const { file } = options;
  const parsed = parseTomlFile(text, file);
  if ('problem' in parsed) return emptyGraph([parsed.problem]);
  const tables = Array.isArray(parsed.value.package) ? parsed.value.package.filter(isObject) : [];
  const metadata = isObject(parsed.value.metadata) ? parsed.value.metadata : {};
  const legacyFiles = isObject(metadata.files) ? metadata.files : {};

  const packages: LockedPackage[] = [];
  const wanted: Array<Array<{ name: string; kind: EdgeKind }>> = [];
  const dev = new Set<string>();
  for (const table of tables) {
    const name = asString(table.name);
    const version = asString(table.version);
    if (!name || !version) continue;
    const source = isObject(table.source) ? table.source : {};
    const type = asString(source.type);
    const origin: Origin = type === 'git' ? 'git' : type === 'url' ? 'url' : type === 'file' || type === 'directory' ? 'local' : 'registry';
    const url = asString(source.url);
    const reference = asString(source.resolved_reference) ?? asString(source.reference);
    const files = Array.isArray(table.files) ? table.files : Array.isArray(legacyFiles[name]) ? (legacyFiles[name] as unknown[]) : [];
    const key = `${pep503Name(name)}==${version}#${packages.length}`;
    packages.push(
      pythonPackage({
        key,
        name,
        version,
        origin,
        ...(url ? { source: origin === 'git' && reference ? `${url}@${reference}` : url } : {}),
        distributions: distributions(files),
      }),
    );
    const dependencies = isObject(table.dependencies) ? table.dependencies : {};
    wanted.push(
      Object.entries(dependencies).map(([dependency, constraint]) => ({
        name: dependency,
        // `{version = "...", optional = true}` is installed only with one of the package's extras.
        kind: isObject(constraint) && constraint.optional === true ? 'optional' : 'required',
      })),
    );
    // Poetry 1.0-1.1 wrote `category = "dev"`; Poetry 2 writes `groups = [...]`.
    const groups = Array.isArray(table.groups) ? table.groups : undefined;
    if (table.category === 'dev' || (groups !== undefined && !groups.includes('main'))) dev.add(key);
  }
  const byName = indexByName(packages);
  packages.forEach((pkg, index) => (pkg.dependencies = edgesByName(wanted[index]!, byName)));

  let roots: Edge[];
  if (options.pyproject) roots = edgesByName(options.pyproject.dependencies, byName);
  else roots = topLevel(packages).map((pkg) => ({ to: pkg.key, kind: dev.has(pkg.key) ? 'dev' : 'required' }));
  return { packages, roots, unplaced: [], dependenciesKnown: true, problems: [] };
}

/** The release files a package may be installed from, each with its hash. */
function distributions(files: unknown[]): Distribution[] {
  const out: Distribution[] = [];
  for (const entry of files) {
    if (!isObject(entry)) continue;
    const url = asString(entry.url) ?? asString(entry.file);
    const hash = hexHash(entry.hash);
    if (url && hash) out.push({ url, hashes: [hash] });
  }
  return out;
}
