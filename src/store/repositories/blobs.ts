import type { Queryable } from '../db.js';
import { num } from '../rows.js';
import type { ArtifactRecord, SourceRecord } from '../types.js';
import { checkCount, checkText } from '../validate.js';

interface BlobRow {
  digest: string;
  size_bytes: string | number;
  path?: string;
  created_at: Date;
}

export interface SourcesRepository {
  /** Records an uploaded source archive; recording the same digest again is a no-op. */
  record(input: { digest: string; sizeBytes: number }): Promise<void>;
  get(digest: string): Promise<SourceRecord | undefined>;
}

export interface ArtifactsRepository {
  /** Records a finished build output; recording the same digest again is a no-op. */
  record(input: { digest: string; sizeBytes: number; path: string }): Promise<void>;
  get(digest: string): Promise<ArtifactRecord | undefined>;
  /** Oldest first. */
  list(): Promise<ArtifactRecord[]>;
  /**
   * Digests that must stay: what live and warm revisions run, what the last `keepReleases` releases of
   * every service and environment point at (rollback targets), and builds of deployments in progress.
   */
  inUse(keepReleases: number): Promise<Set<string>>;
  remove(digest: string): Promise<boolean>;
}

export function sourcesRepository(q: Queryable): SourcesRepository {
  return {
    async record({ digest, sizeBytes }) {
      checkText('digest', digest);
      checkCount('sizeBytes', sizeBytes);
      await q.query('INSERT INTO sources (digest, size_bytes) VALUES ($1, $2) ON CONFLICT (digest) DO NOTHING', [digest, sizeBytes]);
    },
    async get(digest) {
      const rows = await q.query<BlobRow>('SELECT * FROM sources WHERE digest = $1', [digest]);
      const row = rows[0];
      return row && { digest: row.digest, sizeBytes: num(row.size_bytes), createdAt: row.created_at };
    },
  };
}

export function artifactsRepository(q: Queryable): ArtifactsRepository {
  return {
    async record({ digest, sizeBytes, path }) {
      checkText('digest', digest);
      checkText('path', path);
      checkCount('sizeBytes', sizeBytes);
      await q.query('INSERT INTO artifacts (digest, size_bytes, path) VALUES ($1, $2, $3) ON CONFLICT (digest) DO NOTHING', [
        digest,
        sizeBytes,
        path,
      ]);
    },
    async get(digest) {
      const rows = await q.query<BlobRow>('SELECT * FROM artifacts WHERE digest = $1', [digest]);
      const row = rows[0];
      return row && { digest: row.digest, sizeBytes: num(row.size_bytes), path: row.path!, createdAt: row.created_at };
    },
    async list() {
      const rows = await q.query<BlobRow>('SELECT * FROM artifacts ORDER BY created_at, digest');
      return rows.map((row) => ({ digest: row.digest, sizeBytes: num(row.size_bytes), path: row.path!, createdAt: row.created_at }));
    },
    async inUse(keepReleases) {
      const rows = await q.query<{ digest: string }>(
        `SELECT r.artifact_digest AS digest FROM revisions r
         WHERE r.state IN ('starting', 'healthy', 'warm')
            OR r.id IN (SELECT revision_id FROM live_state UNION SELECT previous_revision_id FROM live_state WHERE previous_revision_id IS NOT NULL)
            OR r.id IN (SELECT revision_id FROM (
                 SELECT revision_id, row_number() OVER (PARTITION BY service_id, environment_id ORDER BY number DESC) AS n FROM releases
               ) recent WHERE n <= $1)
         UNION
         SELECT b.artifact_digest FROM builds b JOIN deployments d ON d.id = b.deployment_id
         WHERE d.status IN ('pending', 'building', 'deploying') AND b.artifact_digest IS NOT NULL`,
        [keepReleases],
      );
      return new Set(rows.map((row) => row.digest));
    },
    async remove(digest) {
      const rows = await q.query('DELETE FROM artifacts WHERE digest = $1 RETURNING digest', [digest]);
      return rows.length > 0;
    },
  };
}
