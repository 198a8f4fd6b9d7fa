/**
 * The build cache: dependency folders (node_modules, .venv, ...) by dependency key, and build
 * output by build output key. Entries are deterministic tar.gz archives in a content store under
 * `<root>/blobs`, listed in `<root>/index.json` with their size and last use. After each save the
 * least recently used entries go until the cache fits `maxBytes`. An archive is re-hashed before
 * every restore: one that no longer matches its digest is removed and the lookup is a miss, so a
 * damaged entry is never served.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { formatBytes, isMaestroError, MaestroError } from '../../common/index.js';
import { DEFAULT_ARTIFACT_LIMITS } from '../artifact.js';
import { ContentStore, isDigest } from '../cas.js';
import { archiveMtime, writeTarGz } from '../tar-stream.js';
import { unpackSource, type UnpackLimits } from '../unpack.js';
import { CACHE_KINDS, entryId, IndexFile, type CacheEntry, type CacheIndexData, type CacheKind } from './cache-index.js';
import { collectPaths, normalizeCachePaths } from './collect-paths.js';
import type { DiskEvictor } from './disk-guard.js';
import { archiveBytes, planLruEviction } from './lru.js';
import { clearPaths, overlayTree, recreateLinks } from './overlay.js';
import { sweepOrphans } from './sweep.js';

export type RestoreResult = 'hit' | 'miss';

export interface SaveOutcome {
  /** saved: a new entry; exists: the key was cached already (saves are idempotent); skipped: see reason. */
  status: 'saved' | 'exists' | 'skipped';
  /** Size of the entry's archive (0 when skipped). */
  bytes: number;
  digest?: string;
  reason?: string;
  /** Entries removed to make room for this one. */
  evicted: number;
}

export interface KindStats {
  entries: number;
  bytes: number;
  hits: number;
  misses: number;
  /** hits / (hits + misses); null before the first lookup. */
  hitRate: number | null;
}

export interface CacheStats extends KindStats {
  maxBytes: number;
  /** Entries removed to keep the cache under its size (not counting damaged ones). */
  evictions: number;
  evictedBytes: number;
  /** Entries removed because their archive failed its checksum. */
  corrupted: number;
  byKind: Record<CacheKind, KindStats>;
}

export interface VerifyReport {
  checked: number;
  /** Entries whose archive failed its checksum or was gone, now removed. */
  removed: number;
  /** Stored archives and partial writes no entry refers to, older than the grace period, now deleted. */
  orphansRemoved: number;
  orphanBytes: number;
}

export interface BuildCacheOptions {
  /** The cache's own folder, e.g. `<data dir>/cache`; nothing outside it is ever deleted by eviction. */
  root: string;
  maxBytes: number;
  /** Milliseconds since 1970; tests give a clock to order uses. */
  now?: () => number;
  unpackLimits?: UnpackLimits;
}

/**
 * Left out of build output at any depth: dependency folders have their own cache, the rest is not
 * output. The one list: the pipeline leaves the same names out of what it offers to save.
 */
export const DEFAULT_OUTPUT_EXCLUDES = ['.git', '.maestro', '.venv', 'node_modules'] as const;

/** Archives no entry refers to are only deleted this long after they were written (a save may be about to list them). */
const ORPHAN_GRACE_MS = 60 * 60 * 1000;

const RESTORE_FOLDER_PREFIX = '.maestro-cache-restore-';

type UnpackOutcome = 'restored' | 'damaged' | 'missing';

export class BuildCache {
  readonly root: string;
  readonly maxBytes: number;
  private readonly store: ContentStore;
  private readonly index: IndexFile;
  private readonly now: () => number;
  private readonly unpackLimits: UnpackLimits;

  constructor(options: BuildCacheOptions) {
    if (typeof options.root !== 'string' || options.root === '') throw new MaestroError('validation_error', 'the build cache needs a root folder');
    if (!Number.isSafeInteger(options.maxBytes) || options.maxBytes <= 0) {
      throw new MaestroError('validation_error', `the build cache size must be a whole number of bytes above 0 (got ${String(options.maxBytes)}); write sizes like "10Gi"`);
    }
    this.root = resolve(options.root);
    this.maxBytes = options.maxBytes;
    this.store = new ContentStore(join(this.root, 'blobs'));
    this.index = new IndexFile(join(this.root, 'index.json'));
    this.now = options.now ?? Date.now;
    this.unpackLimits = options.unpackLimits ?? DEFAULT_ARTIFACT_LIMITS;
  }

  /**
   * Puts the cached `paths` (relative to `targetDir`) in place, replacing whatever is there, so the
   * install step can be skipped. A miss when the key is unknown, was saved with other paths, or its
   * archive is damaged or gone.
   */
  async restoreDependencies(key: string, targetDir: string, paths: readonly string[]): Promise<RestoreResult> {
    return this.restore('dependencies', key, targetDir, normalizeCachePaths(paths));
  }

  /** Saves `paths` of `sourceDir` (those that exist) after an install. */
  async saveDependencies(key: string, sourceDir: string, paths: readonly string[]): Promise<SaveOutcome> {
    return this.save('dependencies', key, sourceDir, normalizeCachePaths(paths), new Set());
  }

  /** Lays the cached build output over `targetDir` (files the entry does not hold are kept), so the build can be skipped. */
  async restoreOutput(key: string, targetDir: string): Promise<RestoreResult> {
    return this.restore('output', key, targetDir, undefined);
  }

  /**
   * Saves `paths` of `sourceDir` after a build (e.g. the service folder), leaving out names in
   * `exclude` at any depth (DEFAULT_OUTPUT_EXCLUDES: dependency folders and VCS data).
   */
  async saveOutput(key: string, sourceDir: string, paths: readonly string[], options: { exclude?: readonly string[] } = {}): Promise<SaveOutcome> {
    return this.save('output', key, sourceDir, normalizeCachePaths(paths), new Set(options.exclude ?? DEFAULT_OUTPUT_EXCLUDES));
  }

  async has(kind: CacheKind, key: string): Promise<boolean> {
    checkKey(key);
    return (await this.index.read()).entries[entryId(kind, key)] !== undefined;
  }

  async stats(): Promise<CacheStats> {
    const index = await this.index.read();
    const entries = Object.values(index.entries);
    const byKind = {} as Record<CacheKind, KindStats>;
    for (const kind of CACHE_KINDS) {
      const ofKind = entries.filter((entry) => entry.kind === kind);
      byKind[kind] = kindStats(ofKind.length, archiveBytes(ofKind), index.counters[kind].hits, index.counters[kind].misses);
    }
    const hits = CACHE_KINDS.reduce((sum, kind) => sum + byKind[kind].hits, 0);
    const misses = CACHE_KINDS.reduce((sum, kind) => sum + byKind[kind].misses, 0);
    return {
      ...kindStats(entries.length, archiveBytes(entries), hits, misses),
      maxBytes: this.maxBytes,
      evictions: index.evictions,
      evictedBytes: index.evictedBytes,
      corrupted: index.corrupted,
      byKind,
    };
  }

  /** Removes least recently used entries until the cache takes at most `targetBytes` (default: its size limit). */
  async evict(targetBytes: number = this.maxBytes): Promise<{ removed: number; freedBytes: number }> {
    if (!Number.isSafeInteger(targetBytes) || targetBytes < 0) {
      throw new MaestroError('validation_error', `the eviction target must be a whole number of bytes of at least 0 (got ${String(targetBytes)})`);
    }
    return this.index.update((index) => this.evictWithin(index, targetBytes, new Set()));
  }

  /** Removes least recently used entries until at least `bytes` are freed or the cache is empty. */
  async freeBytes(bytes: number): Promise<{ removed: number; freedBytes: number }> {
    return this.index.update((index) => {
      const current = archiveBytes(Object.values(index.entries));
      return this.evictWithin(index, Math.max(0, current - Math.ceil(bytes)), new Set());
    });
  }

  /** This cache as an evictor for `enforceDiskCeiling`. */
  evictor(name = 'build cache'): DiskEvictor {
    return {
      name,
      evictableBytes: async () => (await this.stats()).bytes,
      evict: async (bytes) => (await this.freeBytes(bytes)).freedBytes,
    };
  }

  /**
   * Re-hashes every entry's archive, removing entries whose archive is damaged or gone, then deletes
   * archives and partial writes in the cache's own store that no entry refers to (left by a crash).
   */
  async verify(): Promise<VerifyReport> {
    const entries = Object.values((await this.index.read()).entries);
    let removed = 0;
    for (const entry of entries) {
      const state = await this.checkArchive(entry.digest);
      if (state === 'ok') continue;
      if (await this.forget(entry, state === 'damaged')) removed += 1;
    }
    const orphans = await this.index.update(async (index) => {
      const used = new Set(Object.values(index.entries).map((entry) => entry.digest));
      return sweepOrphans(this.store.root, used, this.now() - ORPHAN_GRACE_MS);
    });
    return { checked: entries.length, removed, ...orphans };
  }

  private async restore(kind: CacheKind, key: string, targetDir: string, paths: string[] | undefined): Promise<RestoreResult> {
    checkKey(key);
    const id = entryId(kind, key);
    const entry = await this.index.update((index) => {
      const found = index.entries[id];
      // A different list of paths is a different layout (a package added to the workspace, say).
      if (found === undefined || (paths !== undefined && !samePaths(found.paths, paths))) {
        index.counters[kind].misses += 1;
        return undefined;
      }
      return found;
    });
    if (entry === undefined) return 'miss';

    const outcome = await this.unpackInto(entry, targetDir);
    await this.index.update(async (index) => {
      if (outcome === 'restored') {
        index.counters[kind].hits += 1;
        const current = index.entries[id];
        if (current?.digest === entry.digest) current.lastUsedAt = Math.max(current.lastUsedAt, this.now());
        return;
      }
      index.counters[kind].misses += 1;
      await this.removeEntry(index, entry, outcome === 'damaged');
    });
    return outcome === 'restored' ? 'hit' : 'miss';
  }

  private async unpackInto(entry: CacheEntry, targetDir: string): Promise<UnpackOutcome> {
    const state = await this.checkArchive(entry.digest);
    if (state !== 'ok') return state;
    await mkdir(targetDir, { recursive: true });
    const staging = join(targetDir, `${RESTORE_FOLDER_PREFIX}${randomBytes(6).toString('hex')}`);
    try {
      try {
        await unpackSource(this.store.path(entry.digest), staging, this.unpackLimits);
        await recreateLinks(staging, entry.links);
      } catch (error) {
        if (isMaestroError(error) && error.code === 'not_found') return 'missing';
        if (isMaestroError(error) && error.code === 'validation_error') return 'damaged';
        throw error;
      }
      // Dependencies are restored exactly: what the entry did not hold must not linger either.
      if (entry.kind === 'dependencies') await clearPaths(targetDir, entry.paths);
      await overlayTree(staging, targetDir);
      return 'restored';
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  private async checkArchive(digest: string): Promise<'ok' | 'damaged' | 'missing'> {
    try {
      return (await this.store.verify(digest)) ? 'ok' : 'damaged';
    } catch (error) {
      if (isMaestroError(error) && error.code === 'not_found') return 'missing';
      throw error;
    }
  }

  private async save(kind: CacheKind, key: string, sourceDir: string, paths: string[], exclude: ReadonlySet<string>): Promise<SaveOutcome> {
    checkKey(key);
    const id = entryId(kind, key);
    // An entry of other paths is never restored (a new layout of the work folder, say): it is replaced.
    const holdsThese = (entry: CacheEntry | undefined): entry is CacheEntry => entry !== undefined && (kind === 'output' || samePaths(entry.paths, paths));
    const known = (await this.index.read()).entries[id];
    if (holdsThese(known)) return { status: 'exists', bytes: known.size, digest: known.digest, evicted: 0 };

    let stored: { digest: string; size: number };
    let collected: Awaited<ReturnType<typeof collectPaths>>;
    try {
      collected = await collectPaths(sourceDir, paths, exclude);
      if (collected.present.length === 0) return skipped(`none of ${paths.map((path) => `"${path}"`).join(', ')} exists in the folder`);
      // An entry that could not be unpacked again would only ever be a miss.
      if (collected.bytes > this.unpackLimits.maxBytes || collected.entries.length > this.unpackLimits.maxFiles) {
        return skipped(`${formatBytes(collected.bytes)} in ${collected.entries.length} entries is over the limit of ${formatBytes(this.unpackLimits.maxBytes)} and ${this.unpackLimits.maxFiles} entries`);
      }
      stored = await writeTarGz(collected.entries, archiveMtime(), (gzipped) => this.store.put(gzipped));
    } catch (error) {
      // What cannot be cached (a socket, a file changing underfoot) only costs the next build a miss.
      if (isMaestroError(error) && (error.code === 'validation_error' || error.code === 'conflict')) return skipped(error.message);
      throw error;
    }

    return this.index.update(async (index): Promise<SaveOutcome> => {
      const raced = index.entries[id];
      if (holdsThese(raced)) {
        await this.deleteIfUnused(index, stored.digest);
        return { status: 'exists', bytes: raced.size, digest: raced.digest, evicted: 0 };
      }
      if (stored.size > this.maxBytes) {
        await this.deleteIfUnused(index, stored.digest);
        return skipped(`the archive (${formatBytes(stored.size)}) is larger than the whole cache (${formatBytes(this.maxBytes)})`);
      }
      // Eviction elsewhere may have deleted these same bytes between the write and now.
      if (!(await this.store.has(stored.digest))) return skipped('the archive was removed while it was being saved');
      const now = this.now();
      const replaced = index.entries[id];
      index.entries[id] = {
        kind,
        key,
        digest: stored.digest,
        size: stored.size,
        paths,
        present: collected.present,
        links: collected.externalLinks,
        createdAt: now,
        lastUsedAt: now,
      };
      if (replaced !== undefined) await this.deleteIfUnused(index, replaced.digest);
      const { removed } = await this.evictWithin(index, this.maxBytes, new Set([id]));
      return { status: 'saved', bytes: stored.size, digest: stored.digest, evicted: removed };
    });
  }

  /** Runs with the index lock held: drops planned entries from `index` and deletes archives nobody uses. */
  private async evictWithin(index: CacheIndexData, targetBytes: number, keep: ReadonlySet<string>): Promise<{ removed: number; freedBytes: number }> {
    const candidates = Object.entries(index.entries).map(([id, entry]) => ({ id, digest: entry.digest, size: entry.size, lastUsedAt: entry.lastUsedAt }));
    const plan = planLruEviction(candidates, targetBytes, keep);
    for (const id of plan.remove) delete index.entries[id];
    for (const digest of plan.freedDigests) await rm(this.store.path(digest), { force: true });
    index.evictions += plan.remove.length;
    index.evictedBytes += plan.freedBytes;
    return { removed: plan.remove.length, freedBytes: plan.freedBytes };
  }

  /** Removes a damaged or vanished entry (unless it was replaced meanwhile); true when it was still listed. */
  private async forget(entry: CacheEntry, damaged: boolean): Promise<boolean> {
    return this.index.update((index) => this.removeEntry(index, entry, damaged));
  }

  private async removeEntry(index: CacheIndexData, entry: CacheEntry, damaged: boolean): Promise<boolean> {
    const id = entryId(entry.kind, entry.key);
    if (index.entries[id]?.digest !== entry.digest) return false;
    delete index.entries[id];
    if (damaged) {
      index.corrupted += 1;
      // Damaged bytes are of no use to any entry: every entry naming them would fail the same check.
      for (const [otherId, other] of Object.entries(index.entries)) if (other.digest === entry.digest) delete index.entries[otherId];
      await rm(this.store.path(entry.digest), { force: true });
    } else {
      await this.deleteIfUnused(index, entry.digest);
    }
    return true;
  }

  private async deleteIfUnused(index: CacheIndexData, digest: string): Promise<void> {
    if (Object.values(index.entries).some((entry) => entry.digest === digest)) return;
    await rm(this.store.path(digest), { force: true });
  }
}

function kindStats(entries: number, bytes: number, hits: number, misses: number): KindStats {
  return { entries, bytes, hits, misses, hitRate: hits + misses === 0 ? null : hits / (hits + misses) };
}

function skipped(reason: string): SaveOutcome {
  return { status: 'skipped', bytes: 0, reason, evicted: 0 };
}

function samePaths(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((path, index) => path === b[index]);
}

function checkKey(key: string): void {
  if (typeof key !== 'string' || !isDigest(key)) {
    throw new MaestroError('validation_error', `a cache key must be a sha256 digest (64 lowercase hex characters), as dependencyKey and buildOutputKey make`);
  }
}
