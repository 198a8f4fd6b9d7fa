/**
 * Putting an unpacked cache entry in place. The entry is unpacked into a fresh folder inside the
 * target (same file system), then moved over by renames: whole folders move in one step when the
 * target lacks them, files replace files atomically, and nothing is ever written through a link
 * found in the target (a link where a folder should be is replaced, not followed).
 */
import { lstat, mkdir, readdir, rename, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { MaestroError } from '../../common/index.js';
import { normalizeEntryPath, printable } from '../tree-paths.js';
import type { ExternalLink } from './collect-paths.js';

/** Moves everything under `from` into `to`, replacing what is in the way and keeping what is not. */
export async function overlayTree(from: string, to: string): Promise<void> {
  for (const name of (await readdir(from)).sort()) {
    const source = join(from, name);
    const target = join(to, name);
    const [sourceStat, targetStat] = await Promise.all([lstat(source), lstat(target).catch(() => undefined)]);
    if (sourceStat.isDirectory() && targetStat?.isDirectory()) {
      await overlayTree(source, target);
      continue;
    }
    // rename() replaces a file but not a folder, and never puts a folder where a file is.
    if (targetStat && (sourceStat.isDirectory() || targetStat.isDirectory())) await rm(target, { recursive: true, force: true });
    await rename(source, target);
  }
}

/**
 * Removes `paths` under `root` so that they can be restored exactly; refuses when a folder above
 * one of them is a link, which would make the removal reach somewhere else.
 */
export async function clearPaths(root: string, paths: readonly string[]): Promise<void> {
  for (const path of paths) {
    const parts = path.split('/');
    for (let depth = 1; depth < parts.length; depth += 1) {
      const above = parts.slice(0, depth).join('/');
      const stat = await lstat(join(root, above)).catch(() => undefined);
      if (stat === undefined) break;
      if (!stat.isDirectory()) {
        throw new MaestroError('validation_error', `cannot restore "${printable(path)}": "${printable(above)}" in "${printable(root)}" is not a folder`);
      }
    }
    await rm(join(root, path), { recursive: true, force: true });
  }
}

/** Recreates links set aside when the entry was saved, inside the freshly unpacked folder. */
export async function recreateLinks(root: string, links: readonly ExternalLink[]): Promise<void> {
  for (const link of links) {
    // The index is ours, but a path that climbs out must not get a link planted outside the folder.
    const path = normalizeEntryPath(link.path, 'cache entry link');
    if (path === '') throw new MaestroError('validation_error', 'a cache entry link names the folder itself');
    const parts = path.split('/');
    let folder = root;
    for (const part of parts.slice(0, -1)) {
      folder = join(folder, part);
      const stat = await lstat(folder).catch(() => undefined);
      if (stat === undefined) await mkdir(folder);
      else if (!stat.isDirectory()) throw new MaestroError('validation_error', `cache entry link "${printable(link.path)}" sits under something that is not a folder`);
    }
    await symlink(link.target, join(root, path));
  }
}
