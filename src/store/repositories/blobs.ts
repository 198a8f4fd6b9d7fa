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
  };
}
