/**
 * Walks a folder into the sorted list of entries an archive will hold: folders, regular files and
 * symbolic links, with modes already normalised. Refuses what cannot travel safely (links that
 * lead outside the folder, sockets, devices, names with line breaks).
 */
import type { Dirent } from 'node:fs';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { MaestroError } from '../common/index.js';
import { ALWAYS_EXCLUDED, IGNORE_FILES, IgnoreRules } from './ignore-rules.js';
import { printable, resolveLink, type TreeNode } from './tree-paths.js';

export type TreeEntry =
  | { kind: 'dir'; path: string; mode: 0o755 }
  | { kind: 'file'; path: string; absolute: string; mode: 0o644 | 0o755; size: number }
  | { kind: 'symlink'; path: string; target: string };

export interface CollectOptions {
  /** Honour `.gitignore`/`.maestroignore` and leave out `.git`, `node_modules`, `.maestro` (sources); off for artifacts. */
  ignoreRules: boolean;
}

/** Folders first, then their contents, siblings in code-unit order: the same tree always lists the same way. */
export async function collectTree(root: string, options: CollectOptions): Promise<TreeEntry[]> {
  const rootStat = await lstat(root).catch(() => undefined);
  if (!rootStat?.isDirectory()) {
    throw new MaestroError('validation_error', `"${root}" is not a folder; give the folder that holds the app`, { path: root });
  }
  const entries: TreeEntry[] = [];
  await walk(root, '', options.ignoreRules ? IgnoreRules.empty() : undefined, entries);
  checkLinksStayInside(entries);
  return entries;
}

async function walk(root: string, folder: string, rules: IgnoreRules | undefined, out: TreeEntry[]): Promise<void> {
  const absoluteFolder = folder === '' ? root : join(root, folder);
  const children = await readdir(absoluteFolder, { withFileTypes: true });
  children.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const folderRules = rules ? rules.withFolder(folder, await readIgnoreFiles(absoluteFolder, children)) : undefined;
  for (const child of children) {
    const path = folder === '' ? child.name : `${folder}/${child.name}`;
    if (/[\n\r]/.test(child.name)) {
      throw new MaestroError('validation_error', `"${printable(path)}" has a line break in its name; rename it or add it to .maestroignore`, {
        path: printable(path),
      });
    }
    if (folderRules && (ALWAYS_EXCLUDED.has(child.name) || folderRules.ignores(path, child.isDirectory()))) continue;
    const absolute = join(absoluteFolder, child.name);
    const stat = await lstat(absolute);
    if (stat.isDirectory()) {
      out.push({ kind: 'dir', path, mode: 0o755 });
      await walk(root, path, folderRules?.enter(path), out);
    } else if (stat.isFile()) {
      // Only the owner's execute bit decides: group/other bits and umask differences must not change the digest.
      out.push({ kind: 'file', path, absolute, mode: stat.mode & 0o100 ? 0o755 : 0o644, size: stat.size });
    } else if (stat.isSymbolicLink()) {
      out.push({ kind: 'symlink', path, target: await readlink(absolute) });
    } else {
      throw new MaestroError(
        'validation_error',
        `"${printable(path)}" is a ${specialKind(stat)}; only files, folders and symbolic links can be packed. Add it to .maestroignore`,
        { path: printable(path) },
      );
    }
  }
}

async function readIgnoreFiles(folder: string, children: readonly Dirent[]): Promise<string[]> {
  const present = new Set(children.filter((child) => child.isFile()).map((child) => child.name));
  const contents: string[] = [];
  for (const name of IGNORE_FILES) {
    if (present.has(name)) contents.push(await readFile(join(folder, name), 'utf8'));
  }
  return contents;
}

function specialKind(stat: { isSocket(): boolean; isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean }): string {
  if (stat.isSocket()) return 'socket';
  if (stat.isFIFO()) return 'named pipe';
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'device file';
  return 'special file';
}

/** A link must lead somewhere inside the folder once unpacked elsewhere, even through other links. */
function checkLinksStayInside(entries: readonly TreeEntry[]): void {
  const tree = new Map<string, TreeNode>();
  for (const entry of entries) tree.set(entry.path, entry.kind === 'symlink' ? { kind: 'symlink', target: entry.target } : { kind: entry.kind });
  for (const entry of entries) {
    if (entry.kind !== 'symlink') continue;
    if (entry.target.startsWith('/')) {
      throw new MaestroError(
        'validation_error',
        `symbolic link "${printable(entry.path)}" points to the absolute path "${printable(entry.target)}"; use a relative link to something inside the folder, or ignore it`,
        { path: printable(entry.path), target: printable(entry.target) },
      );
    }
    if (resolveLink(tree, entry.path, entry.target) === undefined) {
      throw new MaestroError(
        'validation_error',
        `symbolic link "${printable(entry.path)}" points outside the folder (to "${printable(entry.target)}"); copy what it points to into the folder, or ignore the link`,
        { path: printable(entry.path), target: printable(entry.target) },
      );
    }
  }
}
