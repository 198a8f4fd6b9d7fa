import { MaestroError } from '../../common/index.js';
import type { Queryable } from '../db.js';
import { canTransition, isDeploymentStatus, isTerminal, type DeploymentStatus } from '../deployment-state.js';
import { newId } from '../ids.js';
import { compact, opt } from '../rows.js';
import type { BuildStatus, Deployment, DeploymentFilter, DeploymentPatch, JobStatus, NewDeployment, RolloutRequests } from '../types.js';
import { checkLimit, checkText, toJson } from '../validate.js';

interface DeploymentRow {
  id: string;
  project_id: string;
  service_id: string;
  environment_id: string;
  source_digest: string;
  commit: string | null;
  message: string | null;
  ref: string | null;
  status: DeploymentStatus;
  error: string | null;
  release_id: string | null;
  revision_id: string | null;
  config: unknown;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
  rollout_state: unknown;
  rollout_requests: RolloutRequests | null;
}

const toDeployment = (row: DeploymentRow): Deployment =>
  compact({
    id: row.id,
    projectId: row.project_id,
    serviceId: row.service_id,
    environmentId: row.environment_id,
    sourceDigest: row.source_digest,
    commit: opt(row.commit),
    message: opt(row.message),
    ref: opt(row.ref),
    status: row.status,
    error: opt(row.error),
    releaseId: opt(row.release_id),
    revisionId: opt(row.revision_id),
    config: row.config,
    createdBy: opt(row.created_by),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    finishedAt: opt(row.finished_at),
    rolloutState: opt(row.rollout_state),
    rolloutRequests: row.rollout_requests ?? {},
  });

const IN_PROGRESS_SQL = `status IN ('pending', 'building', 'deploying')`;

export interface DeploymentsRepository {
  /**
   * Starts a deployment, or returns the one already in progress for the same service, environment
   * and source (created=false): pushing the same code twice does not deploy it twice.
   */
  createOrGetInProgress(input: NewDeployment): Promise<{ deployment: Deployment; created: boolean }>;
  get(id: string): Promise<Deployment | undefined>;
  /** Newest first. */
  list(filter?: DeploymentFilter): Promise<Deployment[]>;
  /** Deployments still pending, building or deploying, oldest first: what crash recovery resumes. */
  unfinished(): Promise<Deployment[]>;
  /** The same, each with its latest build's and build job's status, in one query (the reconciler's tick). */
  unfinishedWithProgress(): Promise<
    Array<{ deployment: Deployment; build?: { id: string; status: BuildStatus; error?: string }; job?: { status: JobStatus; error?: string } }>
  >;
  /** Moves a deployment along the state machine; `conflict` when the move is not allowed from where it is. */
  transition(id: string, to: DeploymentStatus, patch?: DeploymentPatch): Promise<Deployment>;
  /** The rollout controller's own state for this deployment (strategy step, weights, analysis), as JSON. */
  saveRolloutState(id: string, state: unknown): Promise<void>;
  /** Adds `maestro promote` / `maestro abort` requests for the controller; false when the deployment is not in progress. */
  requestRollout(id: string, requests: RolloutRequests): Promise<boolean>;
  /** The controller has acted on these requests. */
  clearRolloutRequests(id: string): Promise<void>;
}

export function deploymentsRepository(q: Queryable): DeploymentsRepository {
  async function get(id: string): Promise<Deployment | undefined> {
    const rows = await q.query<DeploymentRow>('SELECT * FROM deployments WHERE id = $1', [id]);
    return rows[0] && toDeployment(rows[0]);
  }

  const rolloutMethods = {
    async saveRolloutState(id: string, state: unknown): Promise<void> {
      await q.query('UPDATE deployments SET rollout_state = $2::jsonb, updated_at = now() WHERE id = $1', [id, toJson('rolloutState', state)]);
    },
    async requestRollout(id: string, requests: RolloutRequests): Promise<boolean> {
      const rows = await q.query(
        `UPDATE deployments SET rollout_requests = rollout_requests || $2::jsonb, updated_at = now()
         WHERE id = $1 AND ${IN_PROGRESS_SQL} RETURNING id`,
        [id, toJson('requests', requests)],
      );
      return rows.length > 0;
    },
    async clearRolloutRequests(id: string): Promise<void> {
      await q.query(`UPDATE deployments SET rollout_requests = '{}'::jsonb WHERE id = $1`, [id]);
    },
  };

  return {
    ...rolloutMethods,
    async createOrGetInProgress(input) {
      checkText('projectId', input.projectId);
      checkText('serviceId', input.serviceId);
      checkText('environmentId', input.environmentId);
      checkText('sourceDigest', input.sourceDigest);
      const config = toJson('config', input.config);
      // The partial unique index decides under concurrency: a racing insert waits for the winner's
      // commit and then does nothing, without aborting an enclosing transaction. The existing row may
      // finish between the two statements, in which case the insert is simply tried again.
      for (let attempt = 0; attempt < 10; attempt += 1) {
        const inserted = await q.query<DeploymentRow>(
          `INSERT INTO deployments (id, project_id, service_id, environment_id, source_digest, commit, message, status, config, created_by, ref)
           VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8::jsonb, $9, $10)
           ON CONFLICT (service_id, environment_id, source_digest) WHERE ${IN_PROGRESS_SQL} DO NOTHING
           RETURNING *`,
          [
            newId('dep'),
            input.projectId,
            input.serviceId,
            input.environmentId,
            input.sourceDigest,
            input.commit ?? null,
            input.message ?? null,
            config,
            input.createdBy ?? null,
            input.ref ?? null,
          ],
        );
        if (inserted[0]) return { deployment: toDeployment(inserted[0]), created: true };
        const existing = await q.query<DeploymentRow>(
          `SELECT * FROM deployments
           WHERE service_id = $1 AND environment_id = $2 AND source_digest = $3 AND ${IN_PROGRESS_SQL}`,
          [input.serviceId, input.environmentId, input.sourceDigest],
        );
        if (existing[0]) return { deployment: toDeployment(existing[0]), created: false };
      }
      throw new MaestroError('conflict', `deployments of ${input.sourceDigest} keep starting and finishing at once; try again`);
    },

    get,

    async list(filter = {}) {
      const limit = checkLimit(filter.limit, 50);
      // Each filter is optional: a NULL parameter matches everything.
      const rows = await q.query<DeploymentRow>(
        `SELECT * FROM deployments
         WHERE ($1::text IS NULL OR project_id = $1)
           AND ($2::text IS NULL OR service_id = $2)
           AND ($3::text IS NULL OR environment_id = $3)
         ORDER BY seq DESC LIMIT $4`,
        [filter.projectId ?? null, filter.serviceId ?? null, filter.environmentId ?? null, limit],
      );
      return rows.map(toDeployment);
    },

    async unfinished() {
      const rows = await q.query<DeploymentRow>(`SELECT * FROM deployments WHERE ${IN_PROGRESS_SQL} ORDER BY seq`);
      return rows.map(toDeployment);
    },

    async unfinishedWithProgress() {
      const rows = await q.query<
        DeploymentRow & { b_id: string | null; b_status: BuildStatus | null; b_error: string | null; j_status: JobStatus | null; j_error: string | null }
      >(
        `SELECT d.*, b.id AS b_id, b.status AS b_status, b.error AS b_error, j.status AS j_status, j.error AS j_error
         FROM deployments d
         LEFT JOIN LATERAL (SELECT id, status, error FROM builds WHERE deployment_id = d.id ORDER BY seq DESC LIMIT 1) b ON true
         LEFT JOIN LATERAL (SELECT status, error FROM jobs WHERE build_id = b.id ORDER BY seq DESC LIMIT 1) j ON true
         WHERE d.${IN_PROGRESS_SQL} ORDER BY d.seq`,
      );
      return rows.map((row) => ({
        deployment: toDeployment(row),
        ...(row.b_id && row.b_status ? { build: compact({ id: row.b_id, status: row.b_status, error: opt(row.b_error) }) } : {}),
        ...(row.j_status ? { job: compact({ status: row.j_status, error: opt(row.j_error) }) } : {}),
      }));
    },

    async transition(id, to, patch = {}) {
      if (!isDeploymentStatus(to)) {
        throw new MaestroError('validation_error', `${JSON.stringify(to)} is not a deployment status`, { field: 'status' });
      }
      // Compare-and-set on the status read just before, so two controllers cannot both move it.
      for (let attempt = 0; attempt < 10; attempt += 1) {
        const current = await get(id);
        if (!current) throw new MaestroError('not_found', `deployment ${id} does not exist`, { id });
        if (!canTransition(current.status, to)) {
          throw new MaestroError('conflict', `deployment ${id} is ${current.status}; it cannot become ${to}`, {
            id,
            status: current.status,
            wanted: to,
          });
        }
        const rows = await q.query<DeploymentRow>(
          `UPDATE deployments
           SET status = $3,
               error = coalesce($4, error),
               release_id = coalesce($5, release_id),
               revision_id = coalesce($6, revision_id),
               updated_at = now(),
               finished_at = CASE WHEN $7::boolean THEN coalesce(finished_at, now()) ELSE finished_at END
           WHERE id = $1 AND status = $2
           RETURNING *`,
          [id, current.status, to, patch.error ?? null, patch.releaseId ?? null, patch.revisionId ?? null, isTerminal(to)],
        );
        if (rows[0]) return toDeployment(rows[0]);
      }
      throw new MaestroError('conflict', `deployment ${id} keeps changing; try again`, { id });
    },
  };
}
