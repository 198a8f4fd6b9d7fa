/**
 * Finds the npm lockfile an install of a service uses, and the package.json files it must match,
 * in an unpacked source: the nearest folder at or above the service that holds a Node lockfile,
 * when that lockfile is npm's alone and that folder is the service's own or a workspace root that
 * has the service among its packages.
 */
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { collectTree } from './collect-tree.js';
import { matchWorkspaceFolders, packageFacts } from './cache/workspace.js';
import type { NpmLockfileInput, NpmManifest } from './npm-lockfile-sync.js';
import { normalizeEntryPath, parentOf } from './tree-paths.js';

/** npm reads npm-shrinkwrap.json before package-lock.json. */
const NPM_LOCKFILES = ['npm-shrinkwrap.json', 'package-lock.json'];
/** Beside these, which lockfile an install follows is not npm's to say: nothing is checked. */
const OTHER_NODE_LOCKFILES = ['pnpm-lock.yaml', 'yarn.lock', 'bun.lock', 'bun.lockb'];

/** What to give `checkNpmLockfile`, or undefined when no npm lockfile governs the service's install. */
export async function npmLockfileFor(sourceRoot: string, servicePath: string): Promise<NpmLockfileInput | undefined> {
  const service = normalizeEntryPath(servicePath, 'service path');
  for (let folder = service; ; folder = parentOf(folder)) {
    const names = new Set(await readdir(join(sourceRoot, folder)).catch(() => [] as string[]));
    const lockfiles = await regularFiles(sourceRoot, folder, [...NPM_LOCKFILES, ...OTHER_NODE_LOCKFILES].filter((name) => names.has(name)));
    if (lockfiles.length > 0) {
      if (lockfiles.some((name) => OTHER_NODE_LOCKFILES.includes(name))) return undefined;
      return lockfileInput(sourceRoot, folder, lockfiles[0]!, service);
    }
    if (folder === '') return undefined;
  }
}

async function lockfileInput(sourceRoot: string, folder: string, lockfileName: string, service: string): Promise<NpmLockfileInput | undefined> {
  const rootManifest = await readText(sourceRoot, joinPath(folder, 'package.json'));
  if (rootManifest === undefined) return undefined;
  const members = await workspaceMembers(sourceRoot, folder, rootManifest);
  // A lockfile above the service speaks for it only when the service is one of its workspace packages.
  if (folder !== service && !members.some((member) => joinPath(folder, member.folder) === service)) return undefined;
  return {
    lockfilePath: joinPath(folder, lockfileName),
    lockfileText: (await readText(sourceRoot, joinPath(folder, lockfileName))) ?? '',
    manifests: [{ folder: '', text: rootManifest }, ...members],
  };
}

/** The workspace packages (folders with a package.json) that the root package.json's `workspaces` globs name. */
async function workspaceMembers(sourceRoot: string, root: string, rootManifest: string): Promise<NpmManifest[]> {
  const patterns = workspacePatterns(rootManifest);
  if (patterns.length === 0) return [];
  const folders = (await collectTree(join(sourceRoot, root), { ignoreRules: true })).filter((entry) => entry.kind === 'dir').map((entry) => entry.path);
  const members: NpmManifest[] = [];
  for (const member of matchWorkspaceFolders(patterns, folders)) {
    const text = await readText(sourceRoot, joinPath(root, member, 'package.json'));
    if (text !== undefined) members.push({ folder: member, text });
  }
  return members;
}

/** npm's `workspaces` globs; an unreadable package.json has none here, and the check reports it. */
function workspacePatterns(manifest: string): string[] {
  try {
    return packageFacts(manifest, 'package.json').workspaces;
  } catch {
    return [];
  }
}

async function regularFiles(sourceRoot: string, folder: string, names: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const name of names) if ((await lstat(join(sourceRoot, folder, name)).catch(() => undefined))?.isFile()) found.push(name);
  return found;
}

/** The text of a regular file (never through a link), or undefined. */
async function readText(sourceRoot: string, path: string): Promise<string | undefined> {
  const absolute = join(sourceRoot, path);
  if (!(await lstat(absolute).catch(() => undefined))?.isFile()) return undefined;
  return readFile(absolute, 'utf8');
}

function joinPath(...parts: string[]): string {
  return parts.filter((part) => part !== '').join('/');
}
