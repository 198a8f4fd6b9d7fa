/**
 * The remote cache both protocols share: entries by (namespace, task hash) in the store, bytes in a
 * content store under the data directory. Uploads stream to disk under a size cap; downloads stream
 * from disk after the blob checks out against its digest.
 */
import type { Readable } from 'node:stream';
import { errorMessage, type Logger } from '../../common/index.js';
import type { RemoteCacheEntry, Store } from '../../store/index.js';
import { ContentStore } from '../cas.js';
import { openVerifiedBlob, removeBlob } from './blob-check.js';
import { evictRemoteCache, removeIfUnreferenced } from './evict.js';
import { limitBody } from './limit-body.js';
import { artifactLimit, remoteCacheRoot, type RemoteCacheSettings } from './settings.js';

export interface CacheHit {
  entry: RemoteCacheEntry;
  stream: Readable;
}

export interface CacheUpload {
  namespace: string;
  hash: string;
  body: AsyncIterable<Uint8Array>;
  /** The Content-Length, when the client sent one. */
  declaredBytes?: number | undefined;
  durationMs?: number | undefined;
  tag?: string | undefined;
  /** Turborepo replaces an entry; Nx never does (an existing entry is a 409). */
  replace: boolean;
}

export class RemoteCache {
  readonly blobs: ContentStore;
  // Quota checks after writes run one at a time, so concurrent uploads do not evict twice over.
  private evicting: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: Store,
    readonly dataDir: string,
    readonly settings: RemoteCacheSettings,
    private readonly logger: Logger,
  ) {
    this.blobs = new ContentStore(remoteCacheRoot(dataDir));
  }

  /** The entry's metadata, without reading its bytes (HEAD, batch queries). */
  async lookup(namespace: string, hash: string): Promise<RemoteCacheEntry | undefined> {
    const project = await this.store.projects.get(namespace);
    return project && this.store.remoteCache.get(project.id, hash);
  }

  async lookupMany(namespace: string, hashes: readonly string[]): Promise<Map<string, RemoteCacheEntry>> {
    const project = await this.store.projects.get(namespace);
    const entries = project ? await this.store.remoteCache.getMany(project.id, hashes) : [];
    return new Map(entries.map((entry) => [entry.hash, entry]));
  }

  /** The entry with a stream of its checked bytes; a missing or damaged blob is a miss, and its entry goes. */
  async open(namespace: string, hash: string): Promise<CacheHit | undefined> {
    const entry = await this.lookup(namespace, hash);
    if (!entry) return undefined;
    const blob = await openVerifiedBlob(this.blobs, entry.digest, entry.sizeBytes);
    if (!blob.ok) {
      this.logger.warn({ namespace, hash, digest: entry.digest, problem: blob.problem }, 'remote cache entry dropped: its blob is missing or fails its checksum');
      await this.store.remoteCache.discard(entry.id, entry.digest);
      // A corrupt file is wrong for every entry naming it; those entries then miss and go the same way.
      if (blob.problem === 'corrupt') await removeBlob(this.blobs, entry.digest);
      return undefined;
    }
    await this.store.remoteCache.touch(entry.id);
    return { entry, stream: blob.stream };
  }

  /** True when the namespace already has an entry for the hash (an Nx upload would conflict). */
  async has(namespace: string, hash: string): Promise<boolean> {
    return (await this.lookup(namespace, hash)) !== undefined;
  }

  /**
   * Streams the upload into the content store and records the entry, creating the namespace's
   * project on its first write. 'exists' when `replace` is false and an entry was already there.
   */
  async write(upload: CacheUpload): Promise<'stored' | 'exists'> {
    if (!upload.replace && (await this.has(upload.namespace, upload.hash))) return 'exists';
    const stored = await this.blobs.put(limitBody(upload.body, artifactLimit(this.settings), upload.declaredBytes));
    const project = await this.store.projects.ensure(upload.namespace);
    const entry = {
      projectId: project.id,
      hash: upload.hash,
      digest: stored.digest,
      sizeBytes: stored.size,
      ...(upload.durationMs === undefined ? {} : { durationMs: upload.durationMs }),
      ...(upload.tag === undefined ? {} : { tag: upload.tag }),
    };
    if (upload.replace) {
      const { replacedDigest } = await this.store.remoteCache.put(entry);
      if (replacedDigest && replacedDigest !== stored.digest) await removeIfUnreferenced(this.store, this.blobs, replacedDigest);
    } else if (!(await this.store.remoteCache.insert(entry))) {
      // Another upload of the same hash won the race: keep its entry, drop these bytes unless shared.
      await removeIfUnreferenced(this.store, this.blobs, stored.digest);
      return 'exists';
    }
    await this.enforceLimits(project.id);
    return 'stored';
  }

  /** After a write: evict least recently used entries when the namespace or the whole cache is over its limit. */
  private enforceLimits(projectId: string): Promise<unknown> {
    const run = async (): Promise<void> => {
      const { settings, store } = this;
      const overQuota = (await store.remoteCache.usage(projectId)).bytes > settings.namespaceQuotaBytes;
      const overTotal = settings.maxTotalBytes !== undefined && (await store.remoteCache.usage()).bytes > settings.maxTotalBytes;
      if (!overQuota && !overTotal) return;
      const result = await evictRemoteCache({
        store,
        dataDir: this.dataDir,
        namespaceQuotaBytes: settings.namespaceQuotaBytes,
        maxBytes: settings.maxTotalBytes,
        maxAgeMs: settings.maxAgeMs,
        ...(overTotal ? {} : { projectId }),
      });
      this.logger.info({ projectId, ...result }, 'remote cache over its limit: least recently used entries evicted');
    };
    this.evicting = this.evicting.then(run).catch((error: unknown) => {
      this.logger.error({ err: errorMessage(error) }, 'remote cache eviction failed');
    });
    return this.evicting;
  }
}
