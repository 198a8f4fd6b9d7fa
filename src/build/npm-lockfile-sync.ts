/**
 * Whether an npm lockfile (v2 or v3) still matches the package.json files it was written from.
 * npm copies each dependency of the root, and of every workspace package, into the lockfile's
 * `packages` entry for that folder with the range as written. A package.json edited without
 * running npm install again leaves them apart, and installing from that lockfile does not give
 * what package.json asks for: npm ci refuses, or goes to the registry for what is missing (which,
 * offline, looks like network trouble), and a cached install keyed by the lockfile would be wrong.
 * Pure: the caller reads the files.
 */
import { parentOf, printable } from './tree-paths.js';

export const DEPENDENCY_FIELDS = ['dependencies', 'devDependencies', 'optionalDependencies'] as const;
export type DependencyField = (typeof DEPENDENCY_FIELDS)[number];

export interface NpmManifest {
  /** The package's folder relative to the lockfile's folder: "" for the root, e.g. "packages/lib" for a workspace package. */
  folder: string;
  /** The text of its package.json. */
  text: string;
}

export interface NpmLockfileInput {
  /** The lockfile's path relative to the source root (it names the files in the message). */
  lockfilePath: string;
  lockfileText: string;
  /** The root's package.json and those of the workspace packages. */
  manifests: readonly NpmManifest[];
}

export type LockfileMismatch =
  | { kind: 'missing'; folder: string; name: string; field: DependencyField; range: string }
  | { kind: 'range'; folder: string; name: string; field: DependencyField; range: string; locked: string }
  | { kind: 'field'; folder: string; name: string; field: DependencyField; range: string; lockedField: DependencyField }
  | { kind: 'workspace'; folder: string };

export type LockfileCheck =
  | { matches: true }
  | { matches: false; message: string; mismatches: LockfileMismatch[]; unreadable?: string };

/** How many mismatches the message spells out; the rest are counted. */
const SHOWN = 3;

export function checkNpmLockfile(input: NpmLockfileInput): LockfileCheck {
  const where = parentOf(input.lockfilePath);
  const lockfile = parseJson(input.lockfileText);
  if (!lockfile.ok) return unreadable(input.lockfilePath, lockfile.error, input.lockfilePath);
  const packages = isObject(lockfile.value) ? lockfile.value.packages : undefined;
  // A version 1 lockfile records resolved versions only, not the ranges asked for: nothing to compare.
  if (!isObject(packages)) return { matches: true };

  const mismatches: LockfileMismatch[] = [];
  for (const manifest of [...input.manifests].sort((a, b) => compareText(a.folder, b.folder))) {
    const parsed = parseJson(manifest.text);
    if (!parsed.ok) return unreadable(input.lockfilePath, parsed.error, joinPath(where, manifest.folder, 'package.json'));
    const entry = packages[manifest.folder];
    if (!isObject(entry)) {
      // The root always has an entry in a lockfile npm wrote; a workspace package may be new.
      mismatches.push({ kind: 'workspace', folder: manifest.folder });
      continue;
    }
    mismatches.push(...compareDependencies(manifest.folder, declaredDependencies(parsed.value), declaredDependencies(entry)));
  }
  if (mismatches.length === 0) return { matches: true };
  return { matches: false, mismatches, message: mismatchMessage(input.lockfilePath, mismatches) };
}

/**
 * The ranges a package.json (or a lockfile entry) declares, by field. npm keeps a name listed in
 * both dependencies and optionalDependencies as optional only, and writes it so.
 */
export function declaredDependencies(packageJson: unknown): Record<DependencyField, Map<string, string>> {
  const out = {} as Record<DependencyField, Map<string, string>>;
  for (const field of DEPENDENCY_FIELDS) {
    const value = isObject(packageJson) ? packageJson[field] : undefined;
    out[field] = new Map(isObject(value) ? Object.entries(value).filter((pair): pair is [string, string] => typeof pair[1] === 'string') : []);
  }
  for (const name of out.optionalDependencies.keys()) out.dependencies.delete(name);
  return out;
}

function compareDependencies(
  folder: string,
  declared: Record<DependencyField, Map<string, string>>,
  locked: Record<DependencyField, Map<string, string>>,
): LockfileMismatch[] {
  const mismatches: LockfileMismatch[] = [];
  for (const field of DEPENDENCY_FIELDS) {
    for (const [name, range] of [...declared[field]].sort(([a], [b]) => compareText(a, b))) {
      const lockedRange = locked[field].get(name);
      if (lockedRange === range) continue;
      if (lockedRange !== undefined) {
        mismatches.push({ kind: 'range', folder, name, field, range, locked: lockedRange });
        continue;
      }
      const lockedField = DEPENDENCY_FIELDS.find((other) => locked[other].has(name));
      mismatches.push(lockedField === undefined ? { kind: 'missing', folder, name, field, range } : { kind: 'field', folder, name, field, range, lockedField });
    }
  }
  return mismatches;
}

function mismatchMessage(lockfilePath: string, mismatches: readonly LockfileMismatch[]): string {
  const where = parentOf(lockfilePath);
  const manifestFiles = [...new Set(mismatches.slice(0, SHOWN).map((mismatch) => joinPath(where, mismatch.folder, 'package.json')))];
  const shown = mismatches.slice(0, SHOWN).map((mismatch) => describe(mismatch, joinPath(where, mismatch.folder, 'package.json')));
  const more = mismatches.length > SHOWN ? ` (and ${mismatches.length - SHOWN} more)` : '';
  return `${printable(lockfilePath)} does not match ${manifestFiles.map(printable).join(' and ')}: ${shown.join('; ')}${more}; ${fix(lockfilePath)}`;
}

function describe(mismatch: LockfileMismatch, manifestFile: string): string {
  const file = printable(manifestFile);
  switch (mismatch.kind) {
    case 'missing':
      return `${quoted(mismatch.name)} (${printable(mismatch.range)}) is in ${file} but not in the lockfile`;
    case 'range':
      return `${quoted(mismatch.name)} is ${printable(mismatch.range)} in ${file} but ${printable(mismatch.locked)} in the lockfile`;
    case 'field':
      return `${quoted(mismatch.name)} (${printable(mismatch.range)}) is in ${mismatch.field} in ${file} but in ${mismatch.lockedField} in the lockfile`;
    case 'workspace':
      return mismatch.folder === '' ? 'the lockfile has no entry for the root package' : `the workspace package ${printable(mismatch.folder)} is not in the lockfile`;
  }
}

function unreadable(lockfilePath: string, error: string, file: string): LockfileCheck {
  const message = `${printable(file)} is not valid JSON (${printable(error)}); fix it (a merge conflict left in it?), then ${fix(lockfilePath)}`;
  return { matches: false, mismatches: [], message, unreadable: file };
}

function fix(lockfilePath: string): string {
  const where = parentOf(lockfilePath);
  return `run npm install${where === '' ? '' : ` in ${printable(where)}`} and commit ${printable(lockfilePath)}`;
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, error: (error as Error).message.slice(0, 200) };
  }
}

function quoted(name: string): string {
  return JSON.stringify(name);
}

function joinPath(...parts: string[]): string {
  return parts.filter((part) => part !== '').join('/');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
