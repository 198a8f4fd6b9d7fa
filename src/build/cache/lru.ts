/**
 * Least-recently-used eviction, decided without touching the disk. Entries may share an archive
 * (two services with the same node_modules): an archive's bytes are freed only when the last entry
 * using it goes.
 */

export interface LruCandidate {
  id: string;
  digest: string;
  size: number;
  lastUsedAt: number;
}

export interface LruPlan {
  /** Entry ids to remove, least recently used first. */
  remove: string[];
  /** Archives no entry uses any more once those are removed. */
  freedDigests: string[];
  freedBytes: number;
  /** Bytes the remaining entries' archives take. */
  remainingBytes: number;
}

/** Bytes the archives of `entries` take, each archive counted once. */
export function archiveBytes(entries: Iterable<Pick<LruCandidate, 'digest' | 'size'>>): number {
  const sizes = new Map<string, number>();
  for (const entry of entries) sizes.set(entry.digest, entry.size);
  let total = 0;
  for (const size of sizes.values()) total += size;
  return total;
}

/**
 * Removes the least recently used entries (ties broken by id) until the archives left take at most
 * `targetBytes`, never removing an id in `keep`.
 */
export function planLruEviction(entries: readonly LruCandidate[], targetBytes: number, keep: ReadonlySet<string> = new Set()): LruPlan {
  const users = new Map<string, number>();
  const sizes = new Map<string, number>();
  for (const entry of entries) {
    users.set(entry.digest, (users.get(entry.digest) ?? 0) + 1);
    sizes.set(entry.digest, entry.size);
  }
  let remainingBytes = [...sizes.values()].reduce((sum, size) => sum + size, 0);
  const order = entries
    .filter((entry) => !keep.has(entry.id))
    .sort((a, b) => a.lastUsedAt - b.lastUsedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const remove: string[] = [];
  const freedDigests: string[] = [];
  for (const entry of order) {
    if (remainingBytes <= targetBytes) break;
    remove.push(entry.id);
    const left = users.get(entry.digest)! - 1;
    users.set(entry.digest, left);
    if (left === 0) {
      freedDigests.push(entry.digest);
      remainingBytes -= sizes.get(entry.digest)!;
    }
  }
  const freedBytes = freedDigests.reduce((sum, digest) => sum + sizes.get(digest)!, 0);
  return { remove, freedDigests, freedBytes, remainingBytes };
}
