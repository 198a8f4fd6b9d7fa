import type { Queryable } from '../db.js';
import { compact, opt } from '../rows.js';
import type { LiveRoute, LiveState } from '../types.js';
import { checkText } from '../validate.js';

interface LiveRow {
  service_id: string;
  environment_id: string;
  release_id: string;
  revision_id: string;
  previous_revision_id: string | null;
  updated_at: Date;
}

interface LiveRouteRow extends LiveRow {
  project_id: string;
  project_name: string;
  service_name: string;
  environment_name: string;
  release_number: number;
}

const toLive = (row: LiveRow): LiveState =>
  compact({
    serviceId: row.service_id,
    environmentId: row.environment_id,
    releaseId: row.release_id,
    revisionId: row.revision_id,
    previousRevisionId: opt(row.previous_revision_id),
    updatedAt: row.updated_at,
  });

export interface LiveRepository {
  get(serviceId: string, environmentId: string): Promise<LiveState | undefined>;
  /** Makes this release and revision the ones serving; the release and revisions must belong to this service and environment. */
  set(serviceId: string, environmentId: string, state: { releaseId: string; revisionId: string; previousRevisionId?: string }): Promise<void>;
  /** Everything that serves, with project, service and environment names, for building route tables. */
  list(): Promise<LiveRoute[]>;
}

export function liveRepository(q: Queryable): LiveRepository {
  return {
    async get(serviceId, environmentId) {
      const rows = await q.query<LiveRow>('SELECT * FROM live_state WHERE service_id = $1 AND environment_id = $2', [
        serviceId,
        environmentId,
      ]);
      return rows[0] && toLive(rows[0]);
    },

    async set(serviceId, environmentId, { releaseId, revisionId, previousRevisionId }) {
      checkText('serviceId', serviceId);
      checkText('environmentId', environmentId);
      checkText('releaseId', releaseId);
      checkText('revisionId', revisionId);
      await q.query(
        `INSERT INTO live_state (service_id, environment_id, release_id, revision_id, previous_revision_id)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (service_id, environment_id) DO UPDATE
         SET release_id = excluded.release_id,
             revision_id = excluded.revision_id,
             previous_revision_id = excluded.previous_revision_id,
             updated_at = now()`,
        [serviceId, environmentId, releaseId, revisionId, previousRevisionId ?? null],
      );
    },

    async list() {
      const rows = await q.query<LiveRouteRow>(
        `SELECT l.*, p.id AS project_id, p.name AS project_name, s.name AS service_name,
                e.name AS environment_name, r.number AS release_number
         FROM live_state l
         JOIN services s ON s.id = l.service_id
         JOIN environments e ON e.id = l.environment_id
         JOIN projects p ON p.id = s.project_id
         JOIN releases r ON r.id = l.release_id
         ORDER BY p.name, e.name, s.name`,
      );
      return rows.map((row) =>
        compact({
          ...toLive(row),
          projectId: row.project_id,
          projectName: row.project_name,
          serviceName: row.service_name,
          environmentName: row.environment_name,
          releaseNumber: Number(row.release_number),
        }),
      );
    },
  };
}
