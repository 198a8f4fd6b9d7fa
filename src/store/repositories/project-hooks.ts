import { MaestroError, isMaestroError } from '../../common/index.js';
import type { Queryable } from '../db.js';
import { compact, opt } from '../rows.js';
import { checkOneOf, checkText } from '../validate.js';

export type GitHostProvider = 'github' | 'gitlab';
export const GIT_HOST_PROVIDERS: readonly GitHostProvider[] = ['github', 'gitlab'];

/** A project's link to its repository on GitHub or GitLab. Secrets are not part of it: the API never shows them. */
export interface ProjectHook {
  projectId: string;
  projectName: string;
  provider: GitHostProvider;
  /** As the provider names it: `owner/name` or `group/sub/project`. */
  repository: string;
  /** The provider's API base for commit statuses; the provider's public API when absent. */
  statusUrl?: string;
  hasStatusToken: boolean;
  createdAt: Date;
}

/** What verifying deliveries and sending statuses needs. Stored in plain text, like webhook secrets. */
export interface ProjectHookWithSecrets extends ProjectHook {
  secret: string;
  statusToken?: string;
}

/**
 * For `set`: `undefined` keeps what is stored (so changing the repository does not lose the token),
 * `null` clears an optional setting. A new link needs a secret.
 */
export interface ProjectHookInput {
  projectId: string;
  provider: GitHostProvider;
  repository: string;
  secret?: string;
  statusUrl?: string | null;
  statusToken?: string | null;
}

interface HookRow {
  project_id: string;
  project_name: string;
  provider: GitHostProvider;
  repository: string;
  secret: string;
  status_url: string | null;
  status_token: string | null;
  created_at: Date;
}

const toHook = (row: HookRow): ProjectHook =>
  compact({
    projectId: row.project_id,
    projectName: row.project_name,
    provider: row.provider,
    repository: row.repository,
    statusUrl: opt(row.status_url),
    hasStatusToken: row.status_token !== null,
    createdAt: row.created_at,
  });

const toHookWithSecrets = (row: HookRow): ProjectHookWithSecrets =>
  compact({ ...toHook(row), secret: row.secret, statusToken: opt(row.status_token) });

const SELECT = `SELECT h.project_id, p.name AS project_name, h.provider, h.repository, h.secret, h.status_url, h.status_token, h.created_at
  FROM project_hooks h JOIN projects p ON p.id = h.project_id`;

export interface ProjectHooksRepository {
  /** Creates or changes the link; `conflict` when another project is linked to the same repository. */
  set(input: ProjectHookInput): Promise<ProjectHook>;
  get(projectId: string, provider: GitHostProvider): Promise<ProjectHook | undefined>;
  /** One project's links, or every project's. */
  list(projectId?: string): Promise<ProjectHook[]>;
  remove(projectId: string, provider: GitHostProvider): Promise<boolean>;
  /** The link to this repository, compared without regard to case (providers treat names so). */
  findByRepository(provider: GitHostProvider, repository: string): Promise<ProjectHookWithSecrets | undefined>;
  withSecrets(projectId: string, provider: GitHostProvider): Promise<ProjectHookWithSecrets | undefined>;
}

export function projectHooksRepository(q: Queryable): ProjectHooksRepository {
  async function withSecrets(projectId: string, provider: GitHostProvider): Promise<ProjectHookWithSecrets | undefined> {
    const rows = await q.query<HookRow>(`${SELECT} WHERE h.project_id = $1 AND h.provider = $2`, [projectId, provider]);
    return rows[0] && toHookWithSecrets(rows[0]);
  }

  async function findByRepository(provider: GitHostProvider, repository: string): Promise<ProjectHookWithSecrets | undefined> {
    const rows = await q.query<HookRow>(`${SELECT} WHERE h.provider = $1 AND lower(h.repository) = lower($2)`, [provider, repository]);
    return rows[0] && toHookWithSecrets(rows[0]);
  }

  async function linkedElsewhere(input: ProjectHookInput): Promise<never> {
    const other = await findByRepository(input.provider, input.repository);
    throw new MaestroError(
      'conflict',
      `${input.provider} repository ${input.repository} is already linked to project ${other?.projectName ?? 'another project'}; ` +
        `remove that link first with \`maestro hooks rm ${input.provider} --project ${other?.projectName ?? '<project>'}\``,
      { provider: input.provider, repository: input.repository, ...(other ? { project: other.projectName } : {}) },
    );
  }

  return {
    async set(input) {
      checkText('projectId', input.projectId);
      checkOneOf('provider', input.provider, GIT_HOST_PROVIDERS);
      checkText('repository', input.repository);
      if (input.secret !== undefined) checkText('secret', input.secret);
      const other = await findByRepository(input.provider, input.repository);
      if (other && other.projectId !== input.projectId) return linkedElsewhere(input);
      const keep = (value: string | null | undefined) => [value === undefined, value ?? null] as const;
      const [keepUrl, url] = keep(input.statusUrl);
      const [keepToken, token] = keep(input.statusToken);
      try {
        const updated = await q.query<{ project_id: string }>(
          `UPDATE project_hooks SET repository = $3, secret = COALESCE($4, secret),
             status_url = CASE WHEN $5 THEN status_url ELSE $6 END,
             status_token = CASE WHEN $7 THEN status_token ELSE $8 END
           WHERE project_id = $1 AND provider = $2 RETURNING project_id`,
          [input.projectId, input.provider, input.repository, input.secret ?? null, keepUrl, url, keepToken, token],
        );
        if (!updated[0]) {
          if (input.secret === undefined) {
            throw new MaestroError('validation_error', 'a new link to a repository needs a secret', { field: 'secret' });
          }
          await q.query(
            `INSERT INTO project_hooks (project_id, provider, repository, secret, status_url, status_token) VALUES ($1, $2, $3, $4, $5, $6)`,
            [input.projectId, input.provider, input.repository, input.secret, url, token],
          );
        }
      } catch (error) {
        // Two projects linked to one repository at the same moment: the unique index decides.
        if (isMaestroError(error) && (error.details as { constraint?: string } | undefined)?.constraint === 'project_hooks_repository_key') {
          return linkedElsewhere(input);
        }
        throw error;
      }
      const rows = await q.query<HookRow>(`${SELECT} WHERE h.project_id = $1 AND h.provider = $2`, [input.projectId, input.provider]);
      return toHook(rows[0]!);
    },

    async get(projectId, provider) {
      const rows = await q.query<HookRow>(`${SELECT} WHERE h.project_id = $1 AND h.provider = $2`, [projectId, provider]);
      return rows[0] && toHook(rows[0]);
    },

    async list(projectId) {
      const rows = await q.query<HookRow>(`${SELECT} WHERE ($1::text IS NULL OR h.project_id = $1) ORDER BY p.name, h.provider`, [projectId ?? null]);
      return rows.map(toHook);
    },

    async remove(projectId, provider) {
      const rows = await q.query('DELETE FROM project_hooks WHERE project_id = $1 AND provider = $2 RETURNING project_id', [projectId, provider]);
      return rows.length > 0;
    },

    findByRepository,
    withSecrets,
  };
}

/**
 * Provider deliveries already acted on. A delivery is claimed in the one statement that decides to act
 * on it, so two concurrent deliveries of one id act once.
 */
export interface HookDeliveriesRepository {
  /**
   * True when this caller may act on the delivery: it is new, or an earlier attempt failed (so the
   * provider's redelivery is tried again), or an earlier handler vanished without an outcome more
   * than `staleAfterMs` ago (a crash).
   */
  claim(input: { provider: GitHostProvider; deliveryId: string; projectId: string; event: string; staleAfterMs: number }): Promise<boolean>;
  /** What came of it. A `failed` outcome lets a redelivery of the same id act again. */
  settle(provider: GitHostProvider, deliveryId: string, outcome: { failed: boolean; text: string }): Promise<void>;
  get(provider: GitHostProvider, deliveryId: string): Promise<HookDelivery | undefined>;
}

export interface HookDelivery {
  provider: GitHostProvider;
  deliveryId: string;
  projectId?: string;
  event: string;
  /** `accepted: ...` or `failed: ...`; absent while it is being handled. */
  outcome?: string;
  receivedAt: Date;
}

const FAILED = 'failed: ';

export function hookDeliveriesRepository(q: Queryable): HookDeliveriesRepository {
  return {
    async claim({ provider, deliveryId, projectId, event, staleAfterMs }) {
      checkText('deliveryId', deliveryId);
      const rows = await q.query(
        `INSERT INTO hook_deliveries (provider, delivery_id, project_id, event) VALUES ($1, $2, $3, $4)
         ON CONFLICT (provider, delivery_id) DO UPDATE SET outcome = NULL, received_at = now(), project_id = EXCLUDED.project_id, event = EXCLUDED.event
         WHERE starts_with(hook_deliveries.outcome, $6)
            OR (hook_deliveries.outcome IS NULL AND hook_deliveries.received_at <= now() - make_interval(secs => $5::double precision / 1000))
         RETURNING delivery_id`,
        [provider, deliveryId, projectId, event, staleAfterMs, FAILED],
      );
      return rows.length === 1;
    },

    async settle(provider, deliveryId, outcome) {
      const text = `${outcome.failed ? FAILED : 'accepted: '}${outcome.text}`.slice(0, 2000);
      await q.query('UPDATE hook_deliveries SET outcome = $3 WHERE provider = $1 AND delivery_id = $2', [provider, deliveryId, text]);
    },

    async get(provider, deliveryId) {
      const rows = await q.query<{ provider: GitHostProvider; delivery_id: string; project_id: string | null; event: string; outcome: string | null; received_at: Date }>(
        'SELECT * FROM hook_deliveries WHERE provider = $1 AND delivery_id = $2',
        [provider, deliveryId],
      );
      const row = rows[0];
      return (
        row &&
        compact({
          provider: row.provider,
          deliveryId: row.delivery_id,
          projectId: opt(row.project_id),
          event: row.event,
          outcome: opt(row.outcome),
          receivedAt: row.received_at,
        })
      );
    },
  };
}
