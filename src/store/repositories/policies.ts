import { MaestroError } from '../../common/index.js';
import type { Queryable } from '../db.js';
import { newId } from '../ids.js';
import { compact, opt } from '../rows.js';
import { checkLimit, checkOneOf, checkText, toJson } from '../validate.js';

/** A person's decision that one policy need not pass, for one artifact or until a time. */
export interface PolicyWaiver {
  id: string;
  projectId: string;
  policy: string;
  /** Only releases of this artifact (sha256 hex); absent: any artifact until it expires. */
  artifactDigest?: string;
  /** Only this environment; absent: every environment. */
  environment?: string;
  waivedBy: string;
  reason: string;
  expiresAt: Date;
  createdAt: Date;
  revokedAt?: Date;
}

export type NewPolicyWaiver = Omit<PolicyWaiver, 'id' | 'createdAt' | 'revokedAt'>;

/** One gate decision: what was decided, on which facts. */
export interface PolicyEvaluationRecord {
  id: string;
  deploymentId?: string;
  projectId: string;
  environment: string;
  outcome: 'allow' | 'deny';
  /** The decision's results, as the policy module made them. */
  results: unknown;
  /** The input document the policies read. */
  input: unknown;
  createdAt: Date;
}

export type NewPolicyEvaluation = Omit<PolicyEvaluationRecord, 'id' | 'createdAt'>;

export const POLICY_OUTCOMES = ['allow', 'deny'] as const;

interface WaiverRow {
  id: string;
  project_id: string;
  policy: string;
  artifact_digest: string | null;
  environment: string | null;
  waived_by: string;
  reason: string;
  expires_at: Date;
  created_at: Date;
  revoked_at: Date | null;
}

interface EvaluationRow {
  id: string;
  deployment_id: string | null;
  project_id: string;
  environment: string;
  outcome: 'allow' | 'deny';
  results: unknown;
  input: unknown;
  created_at: Date;
}

const toWaiver = (row: WaiverRow): PolicyWaiver =>
  compact({
    id: row.id,
    projectId: row.project_id,
    policy: row.policy,
    artifactDigest: opt(row.artifact_digest),
    environment: opt(row.environment),
    waivedBy: row.waived_by,
    reason: row.reason,
    expiresAt: row.expires_at,
    createdAt: row.created_at,
    revokedAt: opt(row.revoked_at),
  });

const toEvaluation = (row: EvaluationRow): PolicyEvaluationRecord =>
  compact({
    id: row.id,
    deploymentId: opt(row.deployment_id),
    projectId: row.project_id,
    environment: row.environment,
    outcome: row.outcome,
    results: row.results,
    input: row.input,
    createdAt: row.created_at,
  });

// ids.ts has no prefixes for these; the same 60 random bits under prefixes of their own.
const waiverId = (): string => newId('dep').replace(/^dep_/, 'wvr_');
const evaluationId = (): string => newId('dep').replace(/^dep_/, 'pev_');

export interface PolicyWaiversRepository {
  create(input: NewPolicyWaiver): Promise<PolicyWaiver>;
  get(id: string): Promise<PolicyWaiver | undefined>;
  /**
   * A project's waivers, newest first: those in force at `now` (not revoked, not expired), or with
   * `all` every one, lapsed ones included.
   */
  list(projectId: string, options?: { all?: boolean; now?: Date; limit?: number }): Promise<PolicyWaiver[]>;
  /**
   * The waivers that could bear on a release of `artifactDigest` to `environment`: for any artifact or
   * that one, for any environment or that one. Lapsed ones too (newest first), so a result can say
   * that its waiver expired.
   */
  forRelease(projectId: string, release: { artifactDigest: string; environment: string }): Promise<PolicyWaiver[]>;
  /** Ends a waiver now; revoking one already revoked keeps the first time. `not_found` when there is none. */
  revoke(projectId: string, id: string, at?: Date): Promise<PolicyWaiver>;
}

export interface PolicyEvaluationsRepository {
  record(input: NewPolicyEvaluation): Promise<PolicyEvaluationRecord>;
  get(id: string): Promise<PolicyEvaluationRecord | undefined>;
  /** A deployment's evaluations, oldest first (a deployment resumed after a restart is gated again). */
  listForDeployment(deploymentId: string): Promise<PolicyEvaluationRecord[]>;
}

/** Waivers reach back this far for "your waiver expired": older lapsed ones are history, not news. */
const LAPSED_LOOKBACK = "interval '90 days'";

export function policyWaiversRepository(q: Queryable): PolicyWaiversRepository {
  return {
    async create(input) {
      checkText('projectId', input.projectId);
      checkText('policy', input.policy);
      checkText('waivedBy', input.waivedBy);
      checkText('reason', input.reason);
      if (input.artifactDigest !== undefined) checkText('artifactDigest', input.artifactDigest);
      if (input.environment !== undefined) checkText('environment', input.environment);
      if (!(input.expiresAt instanceof Date) || Number.isNaN(input.expiresAt.getTime())) {
        throw new MaestroError('validation_error', 'expiresAt must be a valid time', { field: 'expiresAt' });
      }
      const rows = await q.query<WaiverRow>(
        // Listings are newest first by created_at, and the table has no sequence: two waivers made within
        // the clock's resolution would tie, so each is made at least a microsecond after the project's last.
        `INSERT INTO policy_waivers (id, project_id, policy, artifact_digest, environment, waived_by, reason, expires_at, created_at)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8,
                GREATEST(clock_timestamp(), (SELECT max(created_at) FROM policy_waivers WHERE project_id = $2) + interval '1 microsecond')
         RETURNING *`,
        [waiverId(), input.projectId, input.policy, input.artifactDigest ?? null, input.environment ?? null, input.waivedBy, input.reason, input.expiresAt],
      );
      return toWaiver(rows[0]!);
    },

    async get(id) {
      const rows = await q.query<WaiverRow>('SELECT * FROM policy_waivers WHERE id = $1', [id]);
      return rows[0] && toWaiver(rows[0]);
    },

    async list(projectId, { all = false, now = new Date(), limit } = {}) {
      const rows = await q.query<WaiverRow>(
        `SELECT * FROM policy_waivers
         WHERE project_id = $1 AND ($2::boolean OR (revoked_at IS NULL AND expires_at > $3))
         ORDER BY created_at DESC, id DESC LIMIT $4`,
        [projectId, all, now, checkLimit(limit, 100, 1000)],
      );
      return rows.map(toWaiver);
    },

    async forRelease(projectId, { artifactDigest, environment }) {
      const rows = await q.query<WaiverRow>(
        `SELECT * FROM policy_waivers
         WHERE project_id = $1
           AND (artifact_digest IS NULL OR artifact_digest = $2)
           AND (environment IS NULL OR environment = $3)
           AND COALESCE(revoked_at, expires_at) > now() - ${LAPSED_LOOKBACK}
         ORDER BY created_at DESC, id DESC LIMIT 500`,
        [projectId, artifactDigest, environment],
      );
      return rows.map(toWaiver);
    },

    async revoke(projectId, id, at = new Date()) {
      const rows = await q.query<WaiverRow>(
        `UPDATE policy_waivers SET revoked_at = COALESCE(revoked_at, $3) WHERE id = $1 AND project_id = $2 RETURNING *`,
        [id, projectId, at],
      );
      if (!rows[0]) throw new MaestroError('not_found', `no waiver ${id} in this project (see \`maestro policy waivers --all\`)`, { id });
      return toWaiver(rows[0]);
    },
  };
}

export function policyEvaluationsRepository(q: Queryable): PolicyEvaluationsRepository {
  return {
    async record(input) {
      checkText('projectId', input.projectId);
      checkText('environment', input.environment);
      checkOneOf('outcome', input.outcome, POLICY_OUTCOMES);
      const rows = await q.query<EvaluationRow>(
        `INSERT INTO policy_evaluations (id, deployment_id, project_id, environment, outcome, results, input)
         VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb) RETURNING *`,
        [evaluationId(), input.deploymentId ?? null, input.projectId, input.environment, input.outcome, toJson('results', input.results), toJson('input', input.input)],
      );
      return toEvaluation(rows[0]!);
    },

    async get(id) {
      const rows = await q.query<EvaluationRow>('SELECT * FROM policy_evaluations WHERE id = $1', [id]);
      return rows[0] && toEvaluation(rows[0]);
    },

    async listForDeployment(deploymentId) {
      const rows = await q.query<EvaluationRow>('SELECT * FROM policy_evaluations WHERE deployment_id = $1 ORDER BY seq', [deploymentId]);
      return rows.map(toEvaluation);
    },
  };
}
