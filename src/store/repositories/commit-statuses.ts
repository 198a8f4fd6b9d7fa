import type { Queryable } from '../db.js';
import { newId } from '../ids.js';
import { compact, opt } from '../rows.js';
import { checkLimit, checkOneOf, checkText } from '../validate.js';
import { GIT_HOST_PROVIDERS, type GitHostProvider } from './project-hooks.js';
import type { DeliveryOutcome, DeliveryStatus } from './webhooks.js';

/** GitHub's four states; GitLab's are mapped from these when sent. */
export type CommitState = 'pending' | 'success' | 'failure' | 'error';
export const COMMIT_STATES: readonly CommitState[] = ['pending', 'success', 'failure', 'error'];

export interface NewCommitStatus {
  projectId: string;
  provider: GitHostProvider;
  /** As the provider names it: `owner/name` or `group/sub/project`. */
  repository: string;
  sha: string;
  state: CommitState;
  /** The status's name on the provider (GitHub's context, GitLab's name), e.g. `maestro/production`. */
  context: string;
  description: string;
  targetUrl?: string;
}

/** One status on its way to the provider: a row of the outbox. */
export interface CommitStatusRecord extends NewCommitStatus {
  id: string;
  status: DeliveryStatus;
  attempts: number;
  /** When the next attempt is due (pending rows only). */
  nextAttemptAt?: Date;
  lastError?: string;
  createdAt: Date;
  deliveredAt?: Date;
}

/** A status leased to a sender, with the project's settings for that provider as they are now. */
export interface ClaimedCommitStatus {
  status: CommitStatusRecord;
  /** Absent when the project has no link to the provider any more. */
  hook?: { statusUrl?: string; statusToken?: string };
}

interface StatusRow {
  id: string;
  project_id: string;
  provider: GitHostProvider;
  repository: string;
  sha: string;
  state: CommitState;
  context: string;
  description: string;
  target_url: string | null;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: Date;
  last_error: string | null;
  created_at: Date;
  delivered_at: Date | null;
}

const toStatus = (row: StatusRow): CommitStatusRecord =>
  compact({
    id: row.id,
    projectId: row.project_id,
    provider: row.provider,
    repository: row.repository,
    sha: row.sha,
    state: row.state,
    context: row.context,
    description: row.description,
    targetUrl: opt(row.target_url),
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.status === 'pending' ? row.next_attempt_at : undefined,
    lastError: opt(row.last_error),
    createdAt: row.created_at,
    deliveredAt: opt(row.delivered_at),
  });

const COLUMNS = `c.id, c.project_id, c.provider, c.repository, c.sha, c.state, c.context, c.description, c.target_url, c.status,
  c.attempts, c.next_attempt_at, c.last_error, c.created_at, c.delivered_at`;

export interface CommitStatusesRepository {
  enqueue(input: NewCommitStatus): Promise<CommitStatusRecord>;
  /**
   * Leases up to `limit` due statuses and counts the attempt. A status waits while an earlier one for
   * the same commit and context is still on its way, so the provider sees them in the order they were
   * queued (a late `pending` never overwrites a `success`). SKIP LOCKED lets several senders share the work.
   */
  claimDue(options: { leaseMs: number; limit: number }): Promise<ClaimedCommitStatus[]>;
  /**
   * Records an attempt's outcome. `attempt` is the count `claimDue` returned: a sender whose lease
   * expired and was taken by another (which counted a new attempt) records nothing. Undefined then.
   */
  record(id: string, attempt: number, outcome: DeliveryOutcome): Promise<CommitStatusRecord | undefined>;
  /** Newest first; `status: 'dead'` is the dead-letter list. */
  list(filter: { projectId?: string; sha?: string; status?: DeliveryStatus; limit?: number }): Promise<CommitStatusRecord[]>;
  get(id: string): Promise<CommitStatusRecord | undefined>;
  /** When the earliest pending (or leased but expired) status is due, so a sender can sleep until then. */
  nextDueAt(): Promise<Date | undefined>;
}

export function commitStatusesRepository(q: Queryable): CommitStatusesRepository {
  async function get(id: string): Promise<CommitStatusRecord | undefined> {
    const rows = await q.query<StatusRow>(`SELECT ${COLUMNS} FROM commit_statuses c WHERE c.id = $1`, [id]);
    return rows[0] && toStatus(rows[0]);
  }

  return {
    async enqueue(input) {
      checkText('projectId', input.projectId);
      checkOneOf('provider', input.provider, GIT_HOST_PROVIDERS);
      checkText('repository', input.repository);
      checkText('sha', input.sha);
      checkOneOf('state', input.state, COMMIT_STATES);
      checkText('context', input.context);
      const rows = await q.query<StatusRow>(
        `INSERT INTO commit_statuses AS c (id, project_id, provider, repository, sha, state, context, description, target_url, status)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending') RETURNING ${COLUMNS}`,
        [
          newId('cst'),
          input.projectId,
          input.provider,
          input.repository,
          input.sha.toLowerCase(),
          input.state,
          input.context,
          input.description,
          input.targetUrl ?? null,
        ],
      );
      return toStatus(rows[0]!);
    },

    async claimDue({ leaseMs, limit }) {
      const rows = await q.query<StatusRow & { hook_project: string | null; status_url: string | null; status_token: string | null }>(
        `WITH pick AS (
           SELECT c.id FROM commit_statuses c
           WHERE ((c.status = 'pending' AND c.next_attempt_at <= now()) OR (c.status = 'delivering' AND c.lease_expires_at < now()))
             AND NOT EXISTS (
               SELECT 1 FROM commit_statuses e
               WHERE e.project_id = c.project_id AND e.provider = c.provider AND e.repository = c.repository
                 AND e.sha = c.sha AND e.context = c.context AND e.seq < c.seq AND e.status IN ('pending', 'delivering'))
           ORDER BY c.next_attempt_at, c.seq
           FOR UPDATE SKIP LOCKED
           LIMIT $2
         )
         UPDATE commit_statuses c SET status = 'delivering', attempts = c.attempts + 1,
           lease_expires_at = now() + make_interval(secs => $1::double precision / 1000)
         FROM pick
         WHERE c.id = pick.id
         RETURNING ${COLUMNS},
           (SELECT h.project_id FROM project_hooks h WHERE h.project_id = c.project_id AND h.provider = c.provider) AS hook_project,
           (SELECT h.status_url FROM project_hooks h WHERE h.project_id = c.project_id AND h.provider = c.provider) AS status_url,
           (SELECT h.status_token FROM project_hooks h WHERE h.project_id = c.project_id AND h.provider = c.provider) AS status_token`,
        [leaseMs, limit],
      );
      return rows.map((row) =>
        compact({
          status: toStatus(row),
          hook: row.hook_project === null ? undefined : compact({ statusUrl: opt(row.status_url), statusToken: opt(row.status_token) }),
        }),
      );
    },

    async record(id, attempt, outcome) {
      const rows = await q.query<{ id: string }>(
        `UPDATE commit_statuses SET status = $3, last_error = $4,
           next_attempt_at = now() + make_interval(secs => $5::double precision / 1000),
           delivered_at = CASE WHEN $3 = 'succeeded' THEN now() ELSE NULL END,
           lease_expires_at = NULL
         WHERE id = $1 AND attempts = $2 AND status = 'delivering' RETURNING id`,
        [id, attempt, outcome.status, outcome.status === 'succeeded' ? null : outcome.error, outcome.status === 'pending' ? outcome.retryInMs : 0],
      );
      return rows[0] ? get(id) : undefined;
    },

    async list({ projectId, sha, status, limit }) {
      const rows = await q.query<StatusRow>(
        `SELECT ${COLUMNS} FROM commit_statuses c
         WHERE ($1::text IS NULL OR c.project_id = $1) AND ($2::text IS NULL OR c.sha = lower($2)) AND ($3::text IS NULL OR c.status = $3)
         ORDER BY c.seq DESC LIMIT $4`,
        [projectId ?? null, sha ?? null, status ?? null, checkLimit(limit, 100, 1000)],
      );
      return rows.map(toStatus);
    },

    get,

    async nextDueAt() {
      const rows = await q.query<{ at: Date | null }>(
        `SELECT min(at) AS at FROM (
           SELECT min(next_attempt_at) AS at FROM commit_statuses WHERE status = 'pending'
           UNION ALL SELECT min(lease_expires_at) FROM commit_statuses WHERE status = 'delivering'
         ) due`,
      );
      return opt(rows[0]?.at);
    },
  };
}
