import type { ContentStore } from '../build/index.js';
import type { DiskEvictor } from '../build/cache/index.js';
import type { ArtifactRecord, Store } from '../store/index.js';

export interface ArtifactView {
  digest: string;
  sizeBytes: number;
  createdAt: string;
  inUse: boolean;
}

/** Which stored artifacts may go: not in use, and older than `maxAgeMs`; oldest first. Pure. */
export function expiredArtifacts(artifacts: readonly ArtifactRecord[], inUse: ReadonlySet<string>, now: number, maxAgeMs: number): ArtifactRecord[] {
  return artifacts.filter((artifact) => !inUse.has(artifact.digest) && now - artifact.createdAt.getTime() > maxAgeMs);
}

/**
 * Artifacts are kept while a live or warm revision runs them, while one of the last releases of a
 * service points at them (rollback targets), and while a deployment in progress needs them; the rest
 * go after a while, or sooner when the disk ceiling needs the room.
 */
export class ArtifactRetention {
  constructor(
    private readonly store: Store,
    private readonly artifacts: ContentStore,
    private readonly keepReleases: number,
  ) {}

  async list(): Promise<ArtifactView[]> {
    const inUse = await this.store.artifacts.inUse(this.keepReleases);
    return (await this.store.artifacts.list()).map((artifact) => ({
      digest: artifact.digest,
      sizeBytes: artifact.sizeBytes,
      createdAt: artifact.createdAt.toISOString(),
      inUse: inUse.has(artifact.digest),
    }));
  }

  /** Removes artifacts no one needs that are older than `maxAgeMs`; returns what went. */
  async sweep(maxAgeMs: number, now = Date.now()): Promise<{ removed: number; freedBytes: number }> {
    const inUse = await this.store.artifacts.inUse(this.keepReleases);
    let removed = 0;
    let freedBytes = 0;
    for (const artifact of expiredArtifacts(await this.store.artifacts.list(), inUse, now, maxAgeMs)) {
      await this.remove(artifact);
      removed += 1;
      freedBytes += artifact.sizeBytes;
    }
    return { removed, freedBytes };
  }

  /** For the disk ceiling: the oldest unused artifacts, whatever their age, until enough is freed. */
  evictor(): DiskEvictor {
    return {
      name: 'artifacts',
      evict: async (bytesToFree) => {
        const inUse = await this.store.artifacts.inUse(this.keepReleases);
        let freed = 0;
        for (const artifact of expiredArtifacts(await this.store.artifacts.list(), inUse, Date.now(), -1)) {
          if (freed >= bytesToFree) break;
          await this.remove(artifact);
          freed += artifact.sizeBytes;
        }
        return freed;
      },
      evictableBytes: async () => {
        const inUse = await this.store.artifacts.inUse(this.keepReleases);
        return expiredArtifacts(await this.store.artifacts.list(), inUse, Date.now(), -1).reduce((sum, a) => sum + a.sizeBytes, 0);
      },
    };
  }

  private async remove(artifact: ArtifactRecord): Promise<void> {
    await this.store.artifacts.remove(artifact.digest);
    await this.artifacts.remove(artifact.digest);
  }
}
