import { MaestroError } from '../../common/index.js';
import type { Queryable } from '../db.js';
import { newId } from '../ids.js';
import { compact, opt } from '../rows.js';
import type { Revision, RevisionState } from '../types.js';
import { checkOneOf, checkText, toJson } from '../validate.js';

export const REVISION_STATES = ['starting', 'healthy', 'warm', 'stopped', 'failed'] as const satisfies readonly RevisionState[];

interface RevisionRow {
  id: string;
  service_id: string;
  environment_id: string;
  artifact_digest: string;
  config: unknown;
  state: RevisionState;
  detail: string | null;
  created_at: Date;
  updated_at: Date;
}

const toRevision = (row: RevisionRow): Revision =>
  compact({
    id: row.id,
    serviceId: row.service_id,
    environmentId: row.environment_id,
    artifactDigest: row.artifact_digest,
    config: row.config,
    state: row.state,
    detail: opt(row.detail),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  });

export interface RevisionsRepository {
  /** A new revision, in state `starting`. */
  create(input: { serviceId: string; environmentId: string; artifactDigest: string; config: unknown }): Promise<Revision>;
  get(id: string): Promise<Revision | undefined>;
  /** Sets the state; `detail` (e.g. why it failed) replaces the previous one, and is cleared when absent. */
  setState(id: string, state: RevisionState, detail?: string): Promise<Revision>;
  /** Newest first. */
  list(filter: { serviceId: string; environmentId: string; states?: readonly RevisionState[] }): Promise<Revision[]>;
}

export function revisionsRepository(q: Queryable): RevisionsRepository {
  return {
    async create({ serviceId, environmentId, artifactDigest, config }) {
      checkText('serviceId', serviceId);
      checkText('environmentId', environmentId);
      checkText('artifactDigest', artifactDigest);
      const rows = await q.query<RevisionRow>(
        `INSERT INTO revisions (id, service_id, environment_id, artifact_digest, config, state)
         VALUES ($1, $2, $3, $4, $5::jsonb, 'starting') RETURNING *`,
        [newId('rev'), serviceId, environmentId, artifactDigest, toJson('config', config)],
      );
      return toRevision(rows[0]!);
    },

    async get(id) {
      const rows = await q.query<RevisionRow>('SELECT * FROM revisions WHERE id = $1', [id]);
      return rows[0] && toRevision(rows[0]);
    },

    async setState(id, state, detail) {
      checkOneOf('state', state, REVISION_STATES);
      const rows = await q.query<RevisionRow>(
        'UPDATE revisions SET state = $2, detail = $3, updated_at = now() WHERE id = $1 RETURNING *',
        [id, state, detail ?? null],
      );
      if (!rows[0]) throw new MaestroError('not_found', `revision ${id} does not exist`, { id });
      return toRevision(rows[0]);
    },

    async list({ serviceId, environmentId, states }) {
      for (const state of states ?? []) checkOneOf('states', state, REVISION_STATES);
      const rows = await q.query<RevisionRow>(
        `SELECT * FROM revisions
         WHERE service_id = $1 AND environment_id = $2 AND ($3::text[] IS NULL OR state = ANY($3::text[]))
         ORDER BY seq DESC`,
        [serviceId, environmentId, states ? [...states] : null],
      );
      return rows.map(toRevision);
    },
  };
}
