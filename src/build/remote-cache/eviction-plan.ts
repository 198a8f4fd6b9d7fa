/**
 * Which cache entries to evict: a pure decision over the entries' sizes and last accesses. Entries
 * idle longer than `maxAgeMs` go; then, least recently used first, whatever makes a namespace exceed
 * its quota or the whole cache exceed `maxBytes`. What stays is always the most recently used part.
 */

export interface EvictionCandidate {
  id: number;
  projectId: string;
  sizeBytes: number;
  lastAccessAt: Date;
}

export interface EvictionPolicy {
  /** Bytes the whole cache may hold. */
  maxBytes?: number | undefined;
  /** Bytes each namespace (project) may hold. */
  namespaceQuotaBytes?: number | undefined;
  /** Entries idle longer than this go. */
  maxAgeMs?: number | undefined;
  now: Date;
}

/** The ids to evict. Ties in last access keep the newer entry (higher id). */
export function planEviction(entries: readonly EvictionCandidate[], policy: EvictionPolicy): number[] {
  const newestFirst = [...entries].sort((a, b) => b.lastAccessAt.getTime() - a.lastAccessAt.getTime() || b.id - a.id);
  const evicted = new Set<number>();
  const oldest = policy.maxAgeMs === undefined ? -Infinity : policy.now.getTime() - policy.maxAgeMs;
  for (const entry of newestFirst) {
    if (entry.lastAccessAt.getTime() < oldest) evicted.add(entry.id);
  }
  if (policy.namespaceQuotaBytes !== undefined) {
    // Once a namespace's running total passes its quota, everything older in it goes too (strict LRU).
    const used = new Map<string, number>();
    const full = new Set<string>();
    for (const entry of newestFirst) {
      if (evicted.has(entry.id)) continue;
      const total = (used.get(entry.projectId) ?? 0) + entry.sizeBytes;
      used.set(entry.projectId, total);
      if (full.has(entry.projectId) || total > policy.namespaceQuotaBytes) {
        full.add(entry.projectId);
        evicted.add(entry.id);
      }
    }
  }
  if (policy.maxBytes !== undefined) {
    let total = 0;
    let full = false;
    for (const entry of newestFirst) {
      if (evicted.has(entry.id)) continue;
      total += entry.sizeBytes;
      if (full || total > policy.maxBytes) {
        full = true;
        evicted.add(entry.id);
      }
    }
  }
  return newestFirst.filter((entry) => evicted.has(entry.id)).map((entry) => entry.id);
}
