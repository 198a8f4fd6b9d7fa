import { MaestroError } from '../../common/index.js';
import type { Queryable } from '../db.js';
import { compact, num, opt } from '../rows.js';
import type { StoredEvent } from '../types.js';
import { checkLimit, checkText, toJson } from '../validate.js';

interface EventRow {
  id: string | number;
  type: string;
  deployment_id: string | null;
  project_id: string | null;
  data: unknown;
  created_at: Date;
}

const toEvent = (row: EventRow): StoredEvent =>
  compact({
    id: num(row.id),
    type: row.type,
    deploymentId: opt(row.deployment_id),
    projectId: opt(row.project_id),
    data: row.data,
    createdAt: row.created_at,
  });

/** Held until commit by every append to the events table, so events commit in id order. */
export const EVENTS_LOCK_KEY = 7_261_637_375;

export interface EventsRepository {
  append(event: { type: string; deploymentId?: string; projectId?: string; data: unknown }): Promise<StoredEvent>;
  /**
   * Events with an id above `afterId`, in id order (at most `limit`, 1000 by default): a client that
   * saw event N asks for what came after N.
   */
  listSince(afterId: number, filter?: { deploymentId?: string; limit?: number }): Promise<StoredEvent[]>;
}

export function eventsRepository(q: Queryable): EventsRepository {
  return {
    async append({ type, deploymentId, projectId, data }) {
      checkText('type', type);
      // Ids are taken in order but transactions may commit out of order on a server, and a reader
      // that saw event 7 before 6 committed would never replay 6. Holding this lock until commit
      // makes appends commit in id order; it is taken in the same statement, before the id, so it
      // works with or without an enclosing transaction. Appends are small, so serialising them is cheap.
      const rows = await q.query<EventRow>(
        `INSERT INTO events (type, deployment_id, project_id, data)
         SELECT $2, $3, $4, $5::jsonb FROM (SELECT pg_advisory_xact_lock($1)) AS in_order
         RETURNING *`,
        [EVENTS_LOCK_KEY, type, deploymentId ?? null, projectId ?? null, toJson('data', data)],
      );
      return toEvent(rows[0]!);
    },

    async listSince(afterId, filter = {}) {
      if (!Number.isSafeInteger(afterId) || afterId < 0) {
        throw new MaestroError('validation_error', `afterId must be a whole number of at least 0, got ${afterId}`, { field: 'afterId' });
      }
      const rows = await q.query<EventRow>(
        `SELECT * FROM events WHERE id > $1 AND ($2::text IS NULL OR deployment_id = $2) ORDER BY id LIMIT $3`,
        [afterId, filter.deploymentId ?? null, checkLimit(filter.limit, 1000, 10_000)],
      );
      return rows.map(toEvent);
    },
  };
}
