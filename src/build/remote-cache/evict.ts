/** Eviction's effects: list the entries, apply the plan, then delete the blobs no entry names any more. */
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Store } from '../../store/index.js';
import { ContentStore, isDigest } from '../cas.js';
import { removeBlob } from './blob-check.js';
import { planEviction } from './eviction-plan.js';
import { remoteCacheRoot } from './settings.js';

export interface EvictRemoteCacheOptions {
  store: Store;
  /** Maestro's data directory (the blobs are under `<dataDir>/remote-cache`). */
  dataDir: string;
  /** Bytes the whole cache may hold. */
  maxBytes?: number | undefined;
  /** Entries idle longer than this go. */
  maxAgeMs?: number | undefined;
  /** Bytes each namespace (project) may hold. */
  namespaceQuotaBytes?: number | undefined;
  /** Judge only this project's entries (after a write to it); whole-cache limits then wait for a full run. */
  projectId?: string | undefined;
  now?: Date | undefined;
}

export interface EvictRemoteCacheResult {
  removedEntries: number;
  removedBytes: number;
  removedBlobs: number;
}

/** Blobs younger than this are never swept as orphans: their entry may be about to be written. */
const ORPHAN_GRACE_MS = 10 * 60_000;

/**
 * Evicts by age and size, least recently used first. The control plane can call it periodically; the
 * cache calls it (scoped to a project) after a write that took the project over its quota. A full run
 * (no projectId) also sweeps blobs that no entry names, e.g. after a project was deleted.
 */
export async function evictRemoteCache(options: EvictRemoteCacheOptions): Promise<EvictRemoteCacheResult> {
  const { store } = options;
  const now = options.now ?? new Date();
  const scoped = options.projectId !== undefined;
  const entries = await store.remoteCache.listUsage(options.projectId);
  const ids = planEviction(entries, {
    maxBytes: scoped ? undefined : options.maxBytes,
    namespaceQuotaBytes: options.namespaceQuotaBytes,
    maxAgeMs: options.maxAgeMs,
    now,
  });
  const removed = await store.remoteCache.remove(ids);
  const blobs = new ContentStore(remoteCacheRoot(options.dataDir));
  let removedBlobs = 0;
  for (const digest of new Set(removed.map((entry) => entry.digest))) {
    if (await removeIfUnreferenced(store, blobs, digest)) removedBlobs += 1;
  }
  if (!scoped) removedBlobs += await sweepOrphanBlobs(store, blobs, now);
  return { removedEntries: removed.length, removedBytes: removed.reduce((sum, entry) => sum + entry.sizeBytes, 0), removedBlobs };
}

export async function removeIfUnreferenced(store: Store, blobs: ContentStore, digest: string): Promise<boolean> {
  if (await store.remoteCache.isReferenced(digest)) return false;
  await removeBlob(blobs, digest);
  return true;
}

async function sweepOrphanBlobs(store: Store, blobs: ContentStore, now: Date): Promise<number> {
  const referenced = await store.remoteCache.referencedDigests();
  const base = join(blobs.root, 'sha256');
  let removed = 0;
  for (const prefix of await readdir(base).catch(() => [] as string[])) {
    for (const name of await readdir(join(base, prefix)).catch(() => [] as string[])) {
      if (!isDigest(name) || referenced.has(name)) continue;
      const info = await stat(join(base, prefix, name)).catch(() => undefined);
      if (!info || now.getTime() - info.mtimeMs < ORPHAN_GRACE_MS) continue;
      await rm(join(base, prefix, name), { force: true });
      removed += 1;
    }
  }
  return removed;
}
