import { MaestroError } from '../../common/index.js';
import type { Queryable } from '../db.js';
import { newId } from '../ids.js';
import { compact, opt } from '../rows.js';
import type { Release, ReleaseKind } from '../types.js';
import { checkLimit, checkOneOf, checkText } from '../validate.js';

interface ReleaseRow {
  id: string;
  service_id: string;
  environment_id: string;
  number: number;
  revision_id: string;
  deployment_id: string | null;
  kind: ReleaseKind;
  reason: string | null;
  created_at: Date;
}

const toRelease = (row: ReleaseRow): Release =>
  compact({
    id: row.id,
    serviceId: row.service_id,
    environmentId: row.environment_id,
    number: Number(row.number),
    revisionId: row.revision_id,
    deploymentId: opt(row.deployment_id),
    kind: row.kind,
    reason: opt(row.reason),
    createdAt: row.created_at,
  });

export interface NewRelease {
  serviceId: string;
  environmentId: string;
  revisionId: string;
  deploymentId?: string;
  kind: ReleaseKind;
  reason?: string;
}

export interface ReleasesRepository {
  /** Numbered 1, 2, 3 ... per service and environment, without gaps or duplicates under concurrency. */
  create(input: NewRelease): Promise<Release>;
  /** Newest first; 50 when no limit is given. */
  list(serviceId: string, environmentId: string, limit?: number): Promise<Release[]>;
  get(serviceId: string, environmentId: string, number: number): Promise<Release | undefined>;
  getById(id: string): Promise<Release | undefined>;
}

export function releasesRepository(q: Queryable): ReleasesRepository {
  return {
    async create(input) {
      checkText('serviceId', input.serviceId);
      checkText('environmentId', input.environmentId);
      checkText('revisionId', input.revisionId);
      checkOneOf('kind', input.kind, ['deploy', 'rollback'] as const);
      const id = newId('rel');
      // Two writers may compute the same next number; the unique (service, environment, number)
      // constraint lets one win, the other's insert does nothing and it counts again.
      for (let attempt = 0; attempt < 20; attempt += 1) {
        const rows = await q.query<ReleaseRow>(
          `INSERT INTO releases (id, service_id, environment_id, number, revision_id, deployment_id, kind, reason)
           SELECT $1, $2, $3, coalesce(max(number), 0) + 1, $4, $5, $6, $7
           FROM releases WHERE service_id = $2 AND environment_id = $3
           ON CONFLICT (service_id, environment_id, number) DO NOTHING
           RETURNING *`,
          [id, input.serviceId, input.environmentId, input.revisionId, input.deploymentId ?? null, input.kind, input.reason ?? null],
        );
        if (rows[0]) return toRelease(rows[0]);
      }
      throw new MaestroError('conflict', 'too many releases are being created at once for this service; try again');
    },

    async list(serviceId, environmentId, limit) {
      const rows = await q.query<ReleaseRow>(
        'SELECT * FROM releases WHERE service_id = $1 AND environment_id = $2 ORDER BY number DESC LIMIT $3',
        [serviceId, environmentId, checkLimit(limit, 50)],
      );
      return rows.map(toRelease);
    },

    async get(serviceId, environmentId, number) {
      if (!Number.isSafeInteger(number)) return undefined;
      const rows = await q.query<ReleaseRow>(
        'SELECT * FROM releases WHERE service_id = $1 AND environment_id = $2 AND number = $3',
        [serviceId, environmentId, number],
      );
      return rows[0] && toRelease(rows[0]);
    },

    async getById(id) {
      const rows = await q.query<ReleaseRow>('SELECT * FROM releases WHERE id = $1', [id]);
      return rows[0] && toRelease(rows[0]);
    },
  };
}
