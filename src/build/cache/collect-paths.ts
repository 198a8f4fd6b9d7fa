/**
 * The entries a cache archive holds: chosen paths of a folder (say `node_modules` and
 * `apps/web/node_modules`), with the folders above them, in the order `writeTarGz` expects and
 * with modes normalised the way source packing does. Unlike source packing, links may point
 * elsewhere in the folder (`node_modules/lib -> ../packages/lib`) and links that leave it
 * (a virtualenv's `bin/python -> /usr/bin/python3`) are set aside to be recreated after unpacking,
 * because unpacking refuses them.
 */
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { MaestroError } from '../../common/index.js';
import type { TreeEntry } from '../collect-tree.js';
import { findEscapingLink, normalizeEntryPath, parentOf, printable, type TreeNode } from '../tree-paths.js';

export interface ExternalLink {
  path: string;
  target: string;
}

export interface CollectedPaths {
  entries: TreeEntry[];
  /** The requested paths that exist. */
  present: string[];
  /** Links whose target leaves the folder; recorded beside the archive. */
  externalLinks: ExternalLink[];
  /** Bytes of file content. */
  bytes: number;
}

/** A cache entry may set aside this many outside links; more means something odd is being cached. */
const MAX_EXTERNAL_LINKS = 10_000;

/** Normalised, sorted, without duplicates; refuses the root itself, climbing paths, and one path inside another. */
export function normalizeCachePaths(paths: readonly string[]): string[] {
  if (!Array.isArray(paths) || paths.length === 0) {
    throw new MaestroError('validation_error', 'give at least one path to cache, relative to the folder (e.g. "node_modules")');
  }
  const normalized = [...new Set(paths.map((path) => normalizeEntryPath(String(path), 'cache path')))].sort(comparePaths);
  for (const path of normalized) {
    if (path === '') throw new MaestroError('validation_error', 'a cache path must name something inside the folder, not the folder itself');
  }
  for (let index = 1; index < normalized.length; index += 1) {
    const previous = normalized[index - 1]!;
    if (normalized[index]!.startsWith(`${previous}/`)) {
      throw new MaestroError('validation_error', `cache path "${printable(normalized[index]!)}" is inside "${printable(previous)}"; list only the outer one`);
    }
  }
  return normalized;
}

/** Walks `paths` (normalised with `normalizeCachePaths`) under `root`, skipping names in `exclude` at any depth. */
export async function collectPaths(root: string, paths: readonly string[], exclude: ReadonlySet<string> = new Set()): Promise<CollectedPaths> {
  const found = new Map<string, TreeEntry>();
  const present: string[] = [];
  for (const path of paths) {
    if (!(await parentsAreFolders(root, path))) continue;
    const stat = await lstat(join(root, path)).catch(() => undefined);
    if (!stat) continue;
    present.push(path);
    for (let parent = parentOf(path); parent !== ''; parent = parentOf(parent)) found.set(parent, { kind: 'dir', path: parent, mode: 0o755 });
    await addEntry(root, path, found, exclude);
  }
  const entries = [...found.values()].sort((a, b) => comparePaths(a.path, b.path));
  const externalLinks = setAsideEscapingLinks(entries);
  let bytes = 0;
  for (const entry of entries) if (entry.kind === 'file') bytes += entry.size;
  const setAside = new Set(externalLinks.map((link) => link.path));
  return { entries: entries.filter((entry) => !setAside.has(entry.path)), present, externalLinks, bytes };
}

/** A path under a link or a file is not there as far as caching goes: never read through links. */
async function parentsAreFolders(root: string, path: string): Promise<boolean> {
  const parts = path.split('/');
  for (let depth = 1; depth < parts.length; depth += 1) {
    const stat = await lstat(join(root, ...parts.slice(0, depth))).catch(() => undefined);
    if (!stat?.isDirectory()) return false;
  }
  return true;
}

async function addEntry(root: string, path: string, out: Map<string, TreeEntry>, exclude: ReadonlySet<string>): Promise<void> {
  const absolute = join(root, path);
  const stat = await lstat(absolute);
  if (stat.isDirectory()) {
    out.set(path, { kind: 'dir', path, mode: 0o755 });
    const names = (await readdir(absolute)).sort();
    for (const name of names) {
      if (exclude.has(name)) continue;
      if (/[\n\r]/.test(name)) {
        throw new MaestroError('validation_error', `"${printable(`${path}/${name}`)}" has a line break in its name and cannot be cached`);
      }
      await addEntry(root, `${path}/${name}`, out, exclude);
    }
  } else if (stat.isFile()) {
    out.set(path, { kind: 'file', path, absolute, mode: stat.mode & 0o100 ? 0o755 : 0o644, size: stat.size });
  } else if (stat.isSymbolicLink()) {
    out.set(path, { kind: 'symlink', path, target: await readlink(absolute) });
  } else {
    throw new MaestroError('validation_error', `"${printable(path)}" is not a file, folder or link (a socket or device) and cannot be cached`);
  }
}

/**
 * Links that lead outside the archive, found again after each removal: a link that led inside only
 * through one of them leads outside too once it is gone.
 */
function setAsideEscapingLinks(entries: readonly TreeEntry[]): ExternalLink[] {
  const tree = new Map<string, TreeNode>();
  for (const entry of entries) tree.set(entry.path, entry.kind === 'symlink' ? { kind: 'symlink', target: entry.target } : { kind: entry.kind });
  const external: ExternalLink[] = [];
  for (let escaping = findEscapingLink(tree); escaping !== undefined; escaping = findEscapingLink(tree)) {
    if (external.length >= MAX_EXTERNAL_LINKS) {
      throw new MaestroError('validation_error', `more than ${MAX_EXTERNAL_LINKS} links point outside the cached folders; they cannot be cached`);
    }
    external.push({ path: escaping.path, target: escaping.target });
    tree.delete(escaping.path);
  }
  return external.sort((a, b) => comparePaths(a.path, b.path));
}

/** Depth-first order with siblings by code unit: a folder comes right before its contents. */
export function comparePaths(a: string, b: string): number {
  const left = a.split('/');
  const right = b.split('/');
  for (let index = 0; index < Math.min(left.length, right.length); index += 1) {
    if (left[index] !== right[index]) return left[index]! < right[index]! ? -1 : 1;
  }
  return left.length - right.length;
}
