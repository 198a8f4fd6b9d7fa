import type { Queryable } from '../db.js';
import { newId } from '../ids.js';
import { compact, opt } from '../rows.js';
import type { Job, JobStatus } from '../types.js';
import { checkText, toJson } from '../validate.js';

interface JobRow {
  id: string;
  kind: string;
  project_id: string | null;
  build_id: string | null;
  payload: unknown;
  status: JobStatus;
  attempts: number;
  max_attempts: number;
  run_after: Date;
  lease_owner: string | null;
  lease_expires_at: Date | null;
  cancel_requested: boolean;
  error: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

const toJob = (row: JobRow): Job =>
  compact({
    id: row.id,
    kind: row.kind,
    projectId: opt(row.project_id),
    buildId: opt(row.build_id),
    payload: row.payload,
    status: row.status,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    runAfter: row.run_after,
    leaseOwner: opt(row.lease_owner),
    leaseExpiresAt: opt(row.lease_expires_at),
    cancelRequested: row.cancel_requested,
    error: opt(row.error),
    createdAt: row.created_at,
    startedAt: opt(row.started_at),
    finishedAt: opt(row.finished_at),
  });

/** Serialises claims across control planes and runners, so per-project limits hold exactly. */
const CLAIM_LOCK_KEY = 7_261_637_376;

export interface ClaimOptions {
  owner: string;
  leaseMs: number;
  kinds?: string[];
  /** At most this many running jobs per project. */
  perProjectLimit?: number;
}

export interface JobsRepository {
  enqueue(input: { kind: string; projectId?: string; buildId?: string; payload?: unknown; maxAttempts?: number }): Promise<Job>;
  /** The oldest ready job, leased to `owner`; undefined when none is ready (or all are held by limits). */
  claim(options: ClaimOptions): Promise<Job | undefined>;
  /** Extends the lease; `held` is false when the lease was lost (reaped) and the job must stop. */
  heartbeat(id: string, owner: string, leaseMs: number): Promise<{ held: boolean; cancelRequested: boolean }>;
  /** running -> succeeded | failed | cancelled, only by the lease holder. */
  finish(id: string, owner: string, outcome: { status: 'succeeded' | 'failed' | 'cancelled'; error?: string }): Promise<Job | undefined>;
  /** A transient failure: back to the queue after `backoffMs` while attempts remain, else failed. */
  retry(id: string, owner: string, input: { error: string; backoffMs: number }): Promise<Job | undefined>;
  /** A queued job is cancelled at once; a running one is asked to stop (its runner sees it on the next heartbeat). */
  requestCancel(id: string): Promise<Job | undefined>;
  /** Running jobs whose lease expired (their runner died) go back to the queue, or fail after their last attempt. */
  reapExpired(): Promise<Job[]>;
  /** Running jobs leased by owners whose names start with `prefix` (a dead process of ours) go back to the queue now. */
  releaseOwnedBy(prefix: string): Promise<Job[]>;
  get(id: string): Promise<Job | undefined>;
  forBuild(buildId: string): Promise<Job | undefined>;
  counts(): Promise<{ queued: number; running: number }>;
}

export function jobsRepository(q: Queryable): JobsRepository {
  async function get(id: string): Promise<Job | undefined> {
    const rows = await q.query<JobRow>('SELECT * FROM jobs WHERE id = $1', [id]);
    return rows[0] && toJob(rows[0]);
  }

  return {
    async enqueue({ kind, projectId, buildId, payload, maxAttempts }) {
      checkText('kind', kind);
      const rows = await q.query<JobRow>(
        `INSERT INTO jobs (id, kind, project_id, build_id, payload, status, max_attempts)
         VALUES ($1, $2, $3, $4, $5::jsonb, 'queued', $6) RETURNING *`,
        [newId('job'), kind, projectId ?? null, buildId ?? null, toJson('payload', payload ?? {}), maxAttempts ?? 3],
      );
      return toJob(rows[0]!);
    },

    async claim({ owner, leaseMs, kinds, perProjectLimit }) {
      checkText('owner', owner);
      const rows = await q.query<JobRow>(
        `WITH serial AS (SELECT pg_advisory_xact_lock($1)),
         pick AS (
           SELECT j.id FROM jobs j, serial
           WHERE j.status = 'queued' AND j.run_after <= now()
             AND ($4::text[] IS NULL OR j.kind = ANY($4::text[]))
             AND ($5::integer IS NULL OR j.project_id IS NULL OR
                  (SELECT count(*) FROM jobs r WHERE r.status = 'running' AND r.project_id = j.project_id) < $5)
           ORDER BY j.seq
           FOR UPDATE OF j SKIP LOCKED
           LIMIT 1
         )
         UPDATE jobs SET status = 'running', lease_owner = $2, lease_expires_at = now() + make_interval(secs => $3::double precision / 1000),
           attempts = attempts + 1, started_at = coalesce(started_at, now())
         WHERE id = (SELECT id FROM pick) AND status = 'queued'
         RETURNING *`,
        [CLAIM_LOCK_KEY, owner, leaseMs, kinds ?? null, perProjectLimit ?? null],
      );
      return rows[0] && toJob(rows[0]);
    },

    async heartbeat(id, owner, leaseMs) {
      const rows = await q.query<{ cancel_requested: boolean }>(
        `UPDATE jobs SET lease_expires_at = now() + make_interval(secs => $3::double precision / 1000)
         WHERE id = $1 AND lease_owner = $2 AND status = 'running' RETURNING cancel_requested`,
        [id, owner, leaseMs],
      );
      return { held: rows.length === 1, cancelRequested: rows[0]?.cancel_requested ?? false };
    },

    async finish(id, owner, { status, error }) {
      const rows = await q.query<JobRow>(
        `UPDATE jobs SET status = $3, error = $4, finished_at = now(), lease_expires_at = NULL
         WHERE id = $1 AND lease_owner = $2 AND status = 'running' RETURNING *`,
        [id, owner, status, error ?? null],
      );
      return rows[0] && toJob(rows[0]);
    },

    async retry(id, owner, { error, backoffMs }) {
      const rows = await q.query<JobRow>(
        `UPDATE jobs SET
           status = CASE WHEN attempts < max_attempts AND NOT cancel_requested THEN 'queued'
                         WHEN cancel_requested THEN 'cancelled' ELSE 'failed' END,
           run_after = now() + make_interval(secs => $4::double precision / 1000),
           error = $3, lease_owner = NULL, lease_expires_at = NULL,
           finished_at = CASE WHEN attempts < max_attempts AND NOT cancel_requested THEN NULL ELSE now() END
         WHERE id = $1 AND lease_owner = $2 AND status = 'running' RETURNING *`,
        [id, owner, error, backoffMs],
      );
      return rows[0] && toJob(rows[0]);
    },

    async requestCancel(id) {
      const rows = await q.query<JobRow>(
        `UPDATE jobs SET
           status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END,
           finished_at = CASE WHEN status = 'queued' THEN now() ELSE finished_at END,
           cancel_requested = true
         WHERE id = $1 AND status IN ('queued', 'running') RETURNING *`,
        [id],
      );
      return rows[0] ? toJob(rows[0]) : get(id);
    },

    async reapExpired() {
      const rows = await q.query<JobRow>(
        `UPDATE jobs SET
           status = CASE WHEN cancel_requested THEN 'cancelled' WHEN attempts < max_attempts THEN 'queued' ELSE 'failed' END,
           error = CASE WHEN attempts < max_attempts THEN 'its runner stopped answering; retrying'
                        ELSE 'its runner stopped answering ' || attempts || ' times' END,
           lease_owner = NULL, lease_expires_at = NULL,
           finished_at = CASE WHEN cancel_requested OR attempts >= max_attempts THEN now() ELSE NULL END
         WHERE status = 'running' AND lease_expires_at < now() RETURNING *`,
      );
      return rows.map(toJob);
    },

    async releaseOwnedBy(prefix) {
      checkText('prefix', prefix);
      const rows = await q.query<JobRow>(
        `UPDATE jobs SET
           status = CASE WHEN cancel_requested THEN 'cancelled' ELSE 'queued' END,
           finished_at = CASE WHEN cancel_requested THEN now() ELSE NULL END,
           lease_owner = NULL, lease_expires_at = NULL, error = 'its runner stopped; resuming'
         WHERE status = 'running' AND starts_with(lease_owner, $1) RETURNING *`,
        [prefix],
      );
      return rows.map(toJob);
    },

    get,

    async forBuild(buildId) {
      const rows = await q.query<JobRow>('SELECT * FROM jobs WHERE build_id = $1 ORDER BY seq DESC LIMIT 1', [buildId]);
      return rows[0] && toJob(rows[0]);
    },

    async counts() {
      const rows = await q.query<{ status: string; n: string | number }>(
        `SELECT status, count(*) AS n FROM jobs WHERE status IN ('queued', 'running') GROUP BY status`,
      );
      const count = (status: string) => Number(rows.find((row) => row.status === status)?.n ?? 0);
      return { queued: count('queued'), running: count('running') };
    },
  };
}
