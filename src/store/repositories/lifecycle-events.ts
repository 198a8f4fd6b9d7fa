import { MaestroError } from '../../common/index.js';
import type { Queryable } from '../db.js';
import { compact, num, opt } from '../rows.js';
import { checkLimit, checkText, toJson } from '../validate.js';
import { EVENTS_LOCK_KEY } from './events.js';

/** A lifecycle event (deployment.started, ...) as stored: the outbox's record. */
export interface LifecycleEventRecord {
  id: number;
  type: string;
  deploymentId?: string;
  projectId?: string;
  releaseId?: string;
  revisionId?: string;
  actor?: string;
  reason?: string;
  data: Record<string, unknown>;
  createdAt: Date;
}

/** What recording one takes: the record without what the store assigns (id, time), data optional. */
export type NewLifecycleEvent = Omit<LifecycleEventRecord, 'id' | 'createdAt' | 'data'> & { data?: Record<string, unknown> };

export interface LifecycleEventFilter {
  /** Only these types; the caller names the lifecycle types, so deployment log lines never show up here. */
  types: readonly string[];
  projectId?: string;
  deploymentId?: string;
  /** The cursor: events with an id above this one. */
  afterId?: number;
  limit?: number;
  /** The newest `limit` events (still oldest first) instead of the oldest after the cursor. */
  newest?: boolean;
}

export interface LifecycleEventRow {
  id: string | number;
  type: string;
  deployment_id: string | null;
  project_id: string | null;
  release_id: string | null;
  revision_id: string | null;
  actor: string | null;
  reason: string | null;
  data: unknown;
  created_at: Date;
}

export const toLifecycleEventRecord = (row: LifecycleEventRow): LifecycleEventRecord =>
  compact({
    id: num(row.id),
    type: row.type,
    deploymentId: opt(row.deployment_id),
    projectId: opt(row.project_id),
    releaseId: opt(row.release_id),
    revisionId: opt(row.revision_id),
    actor: opt(row.actor),
    reason: opt(row.reason),
    data: (row.data ?? {}) as Record<string, unknown>,
    createdAt: row.created_at,
  });

export interface LifecycleEventsRepository {
  /**
   * Records the event and, in the same statement (so atomically, with or without a transaction), one
   * pending delivery for every webhook that wants it. `deliveries` is how many were queued.
   */
  record(event: NewLifecycleEvent): Promise<{ event: LifecycleEventRecord; deliveries: number }>;
  /** In id order, oldest first: a client that saw event N asks for what came after N. */
  list(filter: LifecycleEventFilter): Promise<LifecycleEventRecord[]>;
  get(id: number): Promise<LifecycleEventRecord | undefined>;
}

export function lifecycleEventsRepository(q: Queryable): LifecycleEventsRepository {
  return {
    async record(event) {
      checkText('type', event.type);
      // The advisory lock (as in events.append) makes events commit in id order, so a reader
      // following the cursor never skips one that committed late.
      const rows = await q.query<LifecycleEventRow & { deliveries: string | number }>(
        `WITH in_order AS (SELECT pg_advisory_xact_lock($1)),
         ev AS (
           INSERT INTO events (type, deployment_id, project_id, release_id, revision_id, actor, reason, data)
           SELECT $2, $3, $4, $5, $6, $7, $8, $9::jsonb FROM in_order
           RETURNING *
         ),
         queued AS (
           INSERT INTO webhook_deliveries (id, webhook_id, event_id, status)
           SELECT 'dlv_' || substr(replace(gen_random_uuid()::text, '-', ''), 1, 16), w.id, ev.id, 'pending'
           FROM webhooks w, ev
           WHERE (w.project_id IS NULL OR w.project_id = ev.project_id)
             AND ('*' = ANY (w.events) OR ev.type = ANY (w.events))
           RETURNING 1
         )
         SELECT ev.*, (SELECT count(*) FROM queued) AS deliveries FROM ev`,
        [
          EVENTS_LOCK_KEY,
          event.type,
          event.deploymentId ?? null,
          event.projectId ?? null,
          event.releaseId ?? null,
          event.revisionId ?? null,
          event.actor ?? null,
          event.reason ?? null,
          toJson('data', event.data ?? {}),
        ],
      );
      const row = rows[0]!;
      return { event: toLifecycleEventRecord(row), deliveries: num(row.deliveries) };
    },

    async list({ types, projectId, deploymentId, afterId = 0, limit, newest = false }) {
      if (!Number.isSafeInteger(afterId) || afterId < 0) {
        throw new MaestroError('validation_error', `the cursor must be a whole number of at least 0, got ${afterId}`, { field: 'after' });
      }
      const rows = await q.query<LifecycleEventRow>(
        `SELECT * FROM events
         WHERE id > $1 AND type = ANY ($2::text[])
           AND ($3::text IS NULL OR project_id = $3) AND ($4::text IS NULL OR deployment_id = $4)
         ORDER BY id ${newest ? 'DESC' : 'ASC'} LIMIT $5`,
        [afterId, [...types], projectId ?? null, deploymentId ?? null, checkLimit(limit, 100, 1000)],
      );
      const records = rows.map(toLifecycleEventRecord);
      return newest ? records.reverse() : records;
    },

    async get(id) {
      const rows = await q.query<LifecycleEventRow>('SELECT * FROM events WHERE id = $1', [id]);
      return rows[0] && toLifecycleEventRecord(rows[0]);
    },
  };
}
