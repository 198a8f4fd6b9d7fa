import { MaestroError } from '../../common/index.js';
import type { Queryable } from '../db.js';
import { newId } from '../ids.js';
import { compact, opt } from '../rows.js';
import type { Build, BuildOutcome, BuildStatus } from '../types.js';
import { checkLimit, checkOneOf, checkText } from '../validate.js';

interface BuildRow {
  id: string;
  deployment_id: string;
  source_digest: string;
  status: BuildStatus;
  artifact_digest: string | null;
  error: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

const toBuild = (row: BuildRow): Build =>
  compact({
    id: row.id,
    deploymentId: row.deployment_id,
    sourceDigest: row.source_digest,
    status: row.status,
    artifactDigest: opt(row.artifact_digest),
    error: opt(row.error),
    createdAt: row.created_at,
    startedAt: opt(row.started_at),
    finishedAt: opt(row.finished_at),
  });

export interface BuildsRepository {
  create(input: { deploymentId: string; sourceDigest: string }): Promise<Build>;
  get(id: string): Promise<Build | undefined>;
  /** pending -> running; a build already running stays so (a resumed runner may say it again). */
  setStatus(id: string, status: 'running'): Promise<Build>;
  /** pending|running -> succeeded|failed|cancelled, once. */
  finish(id: string, outcome: { status: BuildOutcome; artifactDigest?: string; error?: string }): Promise<Build>;
  /** Oldest first. */
  forDeployment(deploymentId: string): Promise<Build[]>;
  /** Newest first, optionally of one project. */
  recent(filter: { projectId?: string; limit?: number }): Promise<Build[]>;
}

export function buildsRepository(q: Queryable): BuildsRepository {
  async function get(id: string): Promise<Build | undefined> {
    const rows = await q.query<BuildRow>('SELECT * FROM builds WHERE id = $1', [id]);
    return rows[0] && toBuild(rows[0]);
  }

  /** Why an update matched nothing: the build is missing, or in a status that does not allow it. */
  async function refuse(id: string, wanted: string): Promise<never> {
    const build = await get(id);
    if (!build) throw new MaestroError('not_found', `build ${id} does not exist`, { id });
    throw new MaestroError('conflict', `build ${id} is ${build.status}; it cannot become ${wanted}`, { id, status: build.status });
  }

  return {
    async create({ deploymentId, sourceDigest }) {
      checkText('deploymentId', deploymentId);
      checkText('sourceDigest', sourceDigest);
      const rows = await q.query<BuildRow>(
        `INSERT INTO builds (id, deployment_id, source_digest, status) VALUES ($1, $2, $3, 'pending') RETURNING *`,
        [newId('bld'), deploymentId, sourceDigest],
      );
      return toBuild(rows[0]!);
    },

    get,

    async setStatus(id, status) {
      checkOneOf('status', status, ['running'] as const);
      const rows = await q.query<BuildRow>(
        `UPDATE builds SET status = 'running', started_at = coalesce(started_at, now())
         WHERE id = $1 AND status IN ('pending', 'running') RETURNING *`,
        [id],
      );
      return rows[0] ? toBuild(rows[0]) : refuse(id, status);
    },

    async finish(id, { status, artifactDigest, error }) {
      checkOneOf('status', status, ['succeeded', 'failed', 'cancelled'] as const);
      if (status === 'succeeded' && !artifactDigest) {
        throw new MaestroError('validation_error', `build ${id} cannot succeed without an artifactDigest`, { id });
      }
      const rows = await q.query<BuildRow>(
        `UPDATE builds SET status = $2, artifact_digest = $3, error = $4, finished_at = now()
         WHERE id = $1 AND status IN ('pending', 'running') RETURNING *`,
        [id, status, artifactDigest ?? null, error ?? null],
      );
      return rows[0] ? toBuild(rows[0]) : refuse(id, status);
    },

    async forDeployment(deploymentId) {
      const rows = await q.query<BuildRow>('SELECT * FROM builds WHERE deployment_id = $1 ORDER BY seq', [deploymentId]);
      return rows.map(toBuild);
    },

    async recent({ projectId, limit }) {
      const rows = await q.query<BuildRow>(
        `SELECT b.* FROM builds b JOIN deployments d ON d.id = b.deployment_id
         WHERE ($1::text IS NULL OR d.project_id = $1) ORDER BY b.seq DESC LIMIT $2`,
        [projectId ?? null, checkLimit(limit, 50, 1000)],
      );
      return rows.map(toBuild);
    },
  };
}
