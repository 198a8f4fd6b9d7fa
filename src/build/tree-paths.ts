/**
 * Pure rules for paths inside a source tree or archive: what a safe entry name is, and whether a
 * symbolic link, followed the way the kernel follows it, stays inside the tree.
 */
import { MaestroError } from '../common/index.js';

/** What sits at a path of the tree, as far as link resolution cares. */
export type TreeNode = { kind: 'dir' } | { kind: 'file' } | { kind: 'symlink'; target: string };

/** More hops than this is a loop (Linux gives up after 40 as well). */
const MAX_LINK_HOPS = 40;

/**
 * The canonical form of an entry name (`a/b/c`, no `.`, no empty or trailing parts), or a
 * validation_error naming the entry when it is absolute, climbs with `..`, or holds a NUL byte.
 * The tree root itself (`.`, `./`) comes back as the empty string.
 */
export function normalizeEntryPath(raw: string, what = 'entry'): string {
  if (raw.includes('\0')) throw invalid(what, raw, 'contains a NUL byte');
  if (raw.startsWith('/') || /^[A-Za-z]:[\\/]/.test(raw) || raw.startsWith('\\\\')) {
    throw invalid(what, raw, 'is an absolute path; archives may only hold relative paths');
  }
  const parts: string[] = [];
  for (const part of raw.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') throw invalid(what, raw, 'has a ".." component that climbs out of the folder');
    parts.push(part);
  }
  return parts.join('/');
}

function invalid(what: string, raw: string, problem: string): MaestroError {
  return new MaestroError('validation_error', `${what} "${printable(raw)}" ${problem}`, { path: printable(raw) });
}

/** Entry names come from strangers: keep control characters out of messages and logs. */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash === -1 ? '' : path.slice(0, slash);
}

/**
 * Where following the link at `linkPath` (target `target`) ends up, resolved through the other
 * links of `tree` the way the kernel does it (a `..` after a link climbs from the link's target,
 * not from the link). Returns the resolved path inside the tree, or `undefined` when the walk
 * leaves the tree, meets an absolute target, or loops. Parts the tree does not know are taken as
 * plain names: they cannot lead anywhere else.
 */
export function resolveLink(tree: ReadonlyMap<string, TreeNode>, linkPath: string, target: string): string | undefined {
  if (target.startsWith('/')) return undefined;
  const stack = parentOf(linkPath) === '' ? [] : parentOf(linkPath).split('/');
  const pending = target.split('/');
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (stack.length === 0) return undefined;
      stack.pop();
      continue;
    }
    const candidate = [...stack, part].join('/');
    const node = tree.get(candidate);
    if (node?.kind === 'symlink') {
      hops += 1;
      if (hops > MAX_LINK_HOPS || node.target.startsWith('/')) return undefined;
      pending.unshift(...node.target.split('/'));
      continue;
    }
    stack.push(part);
  }
  return stack.join('/');
}

/** The first link in `tree` whose target leads outside it, if any. */
export function findEscapingLink(tree: ReadonlyMap<string, TreeNode>): { path: string; target: string } | undefined {
  for (const [path, node] of tree) {
    if (node.kind === 'symlink' && resolveLink(tree, path, node.target) === undefined) return { path, target: node.target };
  }
  return undefined;
}
