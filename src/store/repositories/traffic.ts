import type { Queryable } from '../db.js';
import { compact, opt } from '../rows.js';
import type { TrafficShift } from '../types.js';
import { checkText } from '../validate.js';

interface ShiftRow {
  service_id: string;
  environment_id: string;
  revision_id: string;
  deployment_id: string | null;
  weight: number;
  preview: boolean;
  updated_at: Date;
}

const toShift = (row: ShiftRow): TrafficShift =>
  compact({
    serviceId: row.service_id,
    environmentId: row.environment_id,
    revisionId: row.revision_id,
    deploymentId: opt(row.deployment_id),
    weight: row.weight,
    preview: row.preview,
    updatedAt: row.updated_at,
  });

/** A rollout's new revision and the share of traffic it gets beside what is live; gone once the rollout ends. */
export interface TrafficRepository {
  get(serviceId: string, environmentId: string): Promise<TrafficShift | undefined>;
  set(shift: { serviceId: string; environmentId: string; revisionId: string; deploymentId?: string; weight: number; preview?: boolean }): Promise<void>;
  clear(serviceId: string, environmentId: string): Promise<void>;
  list(): Promise<TrafficShift[]>;
}

export function trafficRepository(q: Queryable): TrafficRepository {
  return {
    async get(serviceId, environmentId) {
      const rows = await q.query<ShiftRow>('SELECT * FROM traffic_shifts WHERE service_id = $1 AND environment_id = $2', [serviceId, environmentId]);
      return rows[0] && toShift(rows[0]);
    },
    async set({ serviceId, environmentId, revisionId, deploymentId, weight, preview }) {
      checkText('revisionId', revisionId);
      await q.query(
        `INSERT INTO traffic_shifts (service_id, environment_id, revision_id, deployment_id, weight, preview)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (service_id, environment_id) DO UPDATE
         SET revision_id = excluded.revision_id, deployment_id = excluded.deployment_id, weight = excluded.weight,
             preview = excluded.preview, updated_at = now()`,
        [serviceId, environmentId, revisionId, deploymentId ?? null, weight, preview ?? false],
      );
    },
    async clear(serviceId, environmentId) {
      await q.query('DELETE FROM traffic_shifts WHERE service_id = $1 AND environment_id = $2', [serviceId, environmentId]);
    },
    async list() {
      return (await q.query<ShiftRow>('SELECT * FROM traffic_shifts ORDER BY service_id, environment_id')).map(toShift);
    },
  };
}
