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
      const rows = await q.query<EventRow>(
        'INSERT INTO events (type, deployment_id, project_id, data) VALUES ($1, $2, $3, $4::jsonb) RETURNING *',
        [type, deploymentId ?? null, projectId ?? null, toJson('data', data)],
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
