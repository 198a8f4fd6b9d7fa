import type { Queryable } from '../db.js';
import { compact, opt } from '../rows.js';
import type { Replica, ReplicaReport } from '../types.js';
import { checkCount, checkText } from '../validate.js';

interface ReplicaRow {
  id: string;
  revision_id: string;
  pid: number | null;
  port: number | null;
  state: string;
  restarts: number;
  last_error: string | null;
  created_at: Date;
  updated_at: Date;
}

const toReplica = (row: ReplicaRow): Replica =>
  compact({
    id: row.id,
    revisionId: row.revision_id,
    pid: opt(row.pid),
    port: opt(row.port),
    state: row.state,
    restarts: row.restarts,
    lastError: opt(row.last_error),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  });

export interface ReplicasRepository {
  /** Records what the agent sees of a replica; the replica id is the agent's. Omitted fields are cleared, restarts becomes 0. */
  upsert(report: ReplicaReport): Promise<Replica>;
  /** All replicas, or those of one revision; oldest first. */
  list(revisionId?: string): Promise<Replica[]>;
  /** True when it existed. */
  remove(id: string): Promise<boolean>;
}

export function replicasRepository(q: Queryable): ReplicasRepository {
  return {
    async upsert(report) {
      checkText('id', report.id);
      checkText('revisionId', report.revisionId);
      checkText('state', report.state);
      for (const field of ['pid', 'port', 'restarts'] as const) {
        if (report[field] !== undefined) checkCount(field, report[field]);
      }
      const rows = await q.query<ReplicaRow>(
        `INSERT INTO replicas (id, revision_id, pid, port, state, restarts, last_error)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (id) DO UPDATE
         SET revision_id = excluded.revision_id, pid = excluded.pid, port = excluded.port, state = excluded.state,
             restarts = excluded.restarts, last_error = excluded.last_error, updated_at = now()
         RETURNING *`,
        [
          report.id,
          report.revisionId,
          report.pid ?? null,
          report.port ?? null,
          report.state,
          report.restarts ?? 0,
          report.lastError ?? null,
        ],
      );
      return toReplica(rows[0]!);
    },

    async list(revisionId) {
      const rows = await q.query<ReplicaRow>(
        'SELECT * FROM replicas WHERE ($1::text IS NULL OR revision_id = $1) ORDER BY created_at, id',
        [revisionId ?? null],
      );
      return rows.map(toReplica);
    },

    async remove(id) {
      const rows = await q.query('DELETE FROM replicas WHERE id = $1 RETURNING id', [id]);
      return rows.length > 0;
    },
  };
}
