/**
 * Lockfiles pin what an install produces; their digests go into the dependency key. They are
 * looked for in the service's folder and in every folder above it up to the source root, which
 * takes in the workspace root wherever it is (a lockfile too many only costs a cache miss).
 */
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LockfileDigest } from './keys.js';
import { normalizeEntryPath, parentOf } from '../tree-paths.js';

export const LOCKFILE_NAMES = [
  'package-lock.json',
  'npm-shrinkwrap.json',
  'pnpm-lock.yaml',
  'yarn.lock',
  'bun.lock',
  'bun.lockb',
  'poetry.lock',
  'uv.lock',
  'Pipfile.lock',
  'go.mod',
  'go.sum',
  'Gemfile.lock',
  'Cargo.lock',
] as const;

/** requirements.txt, requirements-dev.txt, requirements_prod.txt, ... */
const REQUIREMENTS_PATTERN = /^requirements[^/]*\.txt$/;

export function isLockfileName(name: string): boolean {
  return (LOCKFILE_NAMES as readonly string[]).includes(name) || REQUIREMENTS_PATTERN.test(name);
}

/** The tools whose versions shape what installing from these lockfiles produces. */
export function toolchainKindsFor(lockfilePaths: readonly string[]): string[] {
  const kinds = new Set<string>();
  for (const path of lockfilePaths) {
    const name = path.slice(path.lastIndexOf('/') + 1);
    for (const kind of TOOLS_BY_LOCKFILE[name] ?? (REQUIREMENTS_PATTERN.test(name) ? ['python', 'pip'] : [])) kinds.add(kind);
  }
  return [...kinds].sort();
}

const TOOLS_BY_LOCKFILE: Record<string, string[]> = {
  'package-lock.json': ['node', 'npm'],
  'npm-shrinkwrap.json': ['node', 'npm'],
  'pnpm-lock.yaml': ['node', 'pnpm'],
  'yarn.lock': ['node', 'yarn'],
  'bun.lock': ['bun'],
  'bun.lockb': ['bun'],
  'poetry.lock': ['python', 'poetry'],
  'uv.lock': ['python', 'uv'],
  'Pipfile.lock': ['python', 'pipenv'],
  // go.mod pins the versions (minimal version selection), go.sum only their hashes.
  'go.mod': ['go'],
  'go.sum': ['go'],
  'Gemfile.lock': ['ruby', 'bundler'],
  'Cargo.lock': ['cargo', 'rustc'],
};

/**
 * Lockfiles (regular files only, never followed links) in the service folder and each folder
 * above it, with the sha256 of their bytes; paths relative to the source root, sorted.
 */
export async function findLockfiles(sourceRoot: string, servicePath: string): Promise<LockfileDigest[]> {
  const service = normalizeEntryPath(servicePath, 'service path');
  const folders: string[] = [service];
  for (let folder = service; folder !== ''; ) {
    folder = parentOf(folder);
    folders.push(folder);
  }
  const found: LockfileDigest[] = [];
  for (const folder of folders) {
    // The folder is listed rather than probed name by name: requirements*.txt is a pattern.
    const names = await readdir(join(sourceRoot, folder)).catch(() => [] as string[]);
    for (const name of names.filter(isLockfileName).sort()) {
      const absolute = join(sourceRoot, folder, name);
      const stat = await lstat(absolute).catch(() => undefined);
      if (!stat?.isFile()) continue;
      const sha256 = createHash('sha256').update(await readFile(absolute)).digest('hex');
      found.push({ path: folder === '' ? name : `${folder}/${name}`, sha256 });
    }
  }
  return found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
