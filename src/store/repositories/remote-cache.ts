import { MaestroError } from '../../common/index.js';
import type { Queryable } from '../db.js';
import { compact, num, opt } from '../rows.js';
import type { NewRemoteCacheEntry, RemoteCacheEntry, RemoteCacheUsageRow } from '../types.js';
import { checkCount, checkText } from '../validate.js';

interface EntryRow {
  id: string | number;
  project_id: string;
  hash: string;
  digest: string;
  size_bytes: string | number;
  duration_ms: string | number | null;
  tag: string | null;
  created_at: Date;
  last_access_at: Date;
}

const toEntry = (row: EntryRow): RemoteCacheEntry =>
  compact({
    id: num(row.id),
    projectId: row.project_id,
    hash: row.hash,
    digest: row.digest,
    sizeBytes: num(row.size_bytes),
    durationMs: row.duration_ms === null ? undefined : num(row.duration_ms),
    tag: opt(row.tag),
    createdAt: row.created_at,
    lastAccessAt: row.last_access_at,
  });

const toUsage = (row: EntryRow): RemoteCacheUsageRow => ({
  id: num(row.id),
  projectId: row.project_id,
  digest: row.digest,
  sizeBytes: num(row.size_bytes),
  lastAccessAt: row.last_access_at,
});

export interface RemoteCacheRepository {
  get(projectId: string, hash: string): Promise<RemoteCacheEntry | undefined>;
  /** The entries among `hashes` that exist (missing ones are simply absent). */
  getMany(projectId: string, hashes: readonly string[]): Promise<RemoteCacheEntry[]>;
  /** Stores the entry, replacing one with the same hash; says which blob the replaced entry named. */
  put(input: NewRemoteCacheEntry): Promise<{ entry: RemoteCacheEntry; replacedDigest?: string }>;
  /** Stores the entry unless one with the same hash exists; false (and nothing changed) when it does. */
  insert(input: NewRemoteCacheEntry): Promise<boolean>;
  /** Records a read, for least-recently-used eviction. */
  touch(id: number): Promise<void>;
  /** Deletes the entries; returns those that existed (their digests may now name unreferenced blobs). */
  remove(ids: readonly number[]): Promise<RemoteCacheUsageRow[]>;
  /** Deletes the entry only while it still names this blob (an upload may have replaced it meanwhile). */
  discard(id: number, digest: string): Promise<boolean>;
  /** Entries and bytes, of one project or of all. */
  usage(projectId?: string): Promise<{ entries: number; bytes: number }>;
  /** Every entry's size and last access (of one project or all), for eviction. */
  listUsage(projectId?: string): Promise<RemoteCacheUsageRow[]>;
  /** True when some entry names this blob. */
  isReferenced(digest: string): Promise<boolean>;
  /** Every digest some entry names. */
  referencedDigests(): Promise<Set<string>>;
}

export function remoteCacheRepository(q: Queryable): RemoteCacheRepository {
  return {
    async get(projectId, hash) {
      const rows = await q.query<EntryRow>('SELECT * FROM remote_cache_entries WHERE project_id = $1 AND hash = $2', [projectId, hash]);
      return rows[0] && toEntry(rows[0]);
    },

    async getMany(projectId, hashes) {
      if (hashes.length === 0) return [];
      const rows = await q.query<EntryRow>('SELECT * FROM remote_cache_entries WHERE project_id = $1 AND hash = ANY($2::text[])', [
        projectId,
        [...hashes],
      ]);
      return rows.map(toEntry);
    },

    async put(input) {
      const values = checkEntry(input);
      // The CTE reads the row as it was before this statement, so the replaced digest comes back in one round trip.
      const rows = await q.query<EntryRow & { previous_digest: string | null }>(
        `WITH previous AS (SELECT digest FROM remote_cache_entries WHERE project_id = $1 AND hash = $2)
         INSERT INTO remote_cache_entries (project_id, hash, digest, size_bytes, duration_ms, tag) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (project_id, hash) DO UPDATE SET digest = excluded.digest, size_bytes = excluded.size_bytes,
           duration_ms = excluded.duration_ms, tag = excluded.tag, created_at = now(), last_access_at = now()
         RETURNING *, (SELECT digest FROM previous) AS previous_digest`,
        values,
      );
      const row = rows[0]!;
      return compact({ entry: toEntry(row), replacedDigest: opt(row.previous_digest) });
    },

    async insert(input) {
      const rows = await q.query(
        `INSERT INTO remote_cache_entries (project_id, hash, digest, size_bytes, duration_ms, tag) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (project_id, hash) DO NOTHING RETURNING id`,
        checkEntry(input),
      );
      return rows.length > 0;
    },

    async touch(id) {
      await q.query('UPDATE remote_cache_entries SET last_access_at = now() WHERE id = $1', [id]);
    },

    async remove(ids) {
      if (ids.length === 0) return [];
      const rows = await q.query<EntryRow>('DELETE FROM remote_cache_entries WHERE id = ANY($1::bigint[]) RETURNING *', [[...ids]]);
      return rows.map(toUsage);
    },

    async discard(id, digest) {
      const rows = await q.query('DELETE FROM remote_cache_entries WHERE id = $1 AND digest = $2 RETURNING id', [id, digest]);
      return rows.length > 0;
    },

    async usage(projectId) {
      const rows = await q.query<{ entries: string | number; bytes: string | number }>(
        `SELECT count(*) AS entries, coalesce(sum(size_bytes), 0) AS bytes FROM remote_cache_entries
         WHERE $1::text IS NULL OR project_id = $1`,
        [projectId ?? null],
      );
      return { entries: num(rows[0]!.entries), bytes: num(rows[0]!.bytes) };
    },

    async listUsage(projectId) {
      const rows = await q.query<EntryRow>(
        `SELECT id, project_id, digest, size_bytes, last_access_at FROM remote_cache_entries
         WHERE $1::text IS NULL OR project_id = $1 ORDER BY last_access_at DESC, id DESC`,
        [projectId ?? null],
      );
      return rows.map(toUsage);
    },

    async isReferenced(digest) {
      const rows = await q.query('SELECT 1 FROM remote_cache_entries WHERE digest = $1 LIMIT 1', [digest]);
      return rows.length > 0;
    },

    async referencedDigests() {
      const rows = await q.query<{ digest: string }>('SELECT DISTINCT digest FROM remote_cache_entries');
      return new Set(rows.map((row) => row.digest));
    },
  };
}

function checkEntry(input: NewRemoteCacheEntry): unknown[] {
  checkText('projectId', input.projectId);
  checkText('hash', input.hash);
  checkText('digest', input.digest);
  checkCount('sizeBytes', input.sizeBytes);
  if (input.durationMs !== undefined) checkCount('durationMs', input.durationMs);
  if (input.tag !== undefined && typeof input.tag !== 'string') {
    throw new MaestroError('validation_error', 'tag must be a string', { field: 'tag' });
  }
  return [input.projectId, input.hash, input.digest, input.sizeBytes, input.durationMs ?? null, input.tag ?? null];
}
