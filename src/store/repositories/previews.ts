import { MaestroError } from '../../common/index.js';
import type { Queryable } from '../db.js';
import { newId } from '../ids.js';
import { compact, num, opt } from '../rows.js';
import type { EnvironmentFootprint, NewPreview, Preview, PreviewKind, PreviewOrigin, PreviewState } from '../types.js';
import { checkCount, checkLimit, checkName, checkOneOf, checkText } from '../validate.js';

export const PREVIEW_KINDS = ['branch', 'pull_request'] as const satisfies readonly PreviewKind[];
export const PREVIEW_ORIGINS = ['push', 'github', 'gitlab'] as const satisfies readonly PreviewOrigin[];

interface PreviewRow {
  id: string;
  project_id: string;
  environment_id: string | null;
  name: string;
  kind: PreviewKind;
  branch: string;
  pr_number: number | null;
  head_sha: string | null;
  origin: PreviewOrigin;
  state: PreviewState;
  expires_at: Date;
  last_request_at: Date | null;
  destroy_reason: string | null;
  created_at: Date;
  updated_at: Date;
  destroyed_at: Date | null;
}

const toPreview = (row: PreviewRow): Preview =>
  compact({
    id: row.id,
    projectId: row.project_id,
    environmentId: opt(row.environment_id),
    name: row.name,
    kind: row.kind,
    branch: row.branch,
    prNumber: row.pr_number === null ? undefined : num(row.pr_number),
    headSha: opt(row.head_sha),
    origin: row.origin,
    state: row.state,
    expiresAt: row.expires_at,
    lastRequestAt: opt(row.last_request_at),
    destroyReason: opt(row.destroy_reason),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    destroyedAt: opt(row.destroyed_at),
  });

// ids.ts has no prefix for previews; the same 60 random bits under a prefix of their own.
const previewId = (): string => newId('pvw');

/** What a preview is for: a branch, or a pull request by its number. */
export type PreviewSubject = { kind: 'branch'; branch: string } | { kind: 'pull_request'; number: number };

/** Which rows `ids` looks among, for garbage collection. */
export type RecordKind = 'deployments' | 'builds' | 'revisions';

export interface PreviewsRepository {
  /**
   * A new active preview under the first of `names` that is free: not held by a live preview of the
   * project, and not the name of an environment that never belonged to a preview (a person's own
   * staging, say). Undefined when every name is taken. Does not create the environment.
   */
  create(input: NewPreview & { names: readonly string[] }): Promise<Preview | undefined>;
  get(id: string): Promise<Preview | undefined>;
  /** The live (active or sleeping) preview of that name. */
  getByName(projectId: string, name: string): Promise<Preview | undefined>;
  /** The live preview of a branch (kind branch) or of a pull request (by number). */
  findLive(projectId: string, subject: PreviewSubject): Promise<Preview | undefined>;
  /** Live previews, oldest first; of every project when `projectId` is absent. */
  listLive(projectId?: string): Promise<Preview[]>;
  /** Every preview, destroyed ones too, newest first. */
  listAll(filter?: { projectId?: string; limit?: number }): Promise<Preview[]>;
  countLive(projectId: string): Promise<number>;
  setEnvironment(id: string, environmentId: string): Promise<Preview>;
  /**
   * A new push: the head moves and the expiry starts again from `expiresAt`. A sleeping preview stays
   * asleep: whoever starts its replicas again marks it active (a push may deploy nothing).
   */
  updateHead(id: string, headSha: string, expiresAt: Date): Promise<Preview>;
  /** Pushes the expiry out by `byMs`, counted from `now` when it had already passed. */
  extend(id: string, byMs: number, now?: Date): Promise<Preview>;
  setState(id: string, state: 'active' | 'sleeping'): Promise<Preview>;
  /** Records a request reaching the preview (idle previews sleep). */
  touch(id: string, at: Date): Promise<void>;
  /** The preview is gone for good, with why; its name is free again. A destroyed one stays as it was. */
  markDestroyed(id: string, reason: string): Promise<Preview>;
  /** Live previews whose expiry is at or before `now`, soonest first. */
  expired(now: Date): Promise<Preview[]>;
  /**
   * Destroyed previews whose environment still exists: their clean-up was cut short (a crash) and
   * is finished by the next garbage collection.
   */
  unfinished(): Promise<Preview[]>;
  /** The names any preview of the project ever had, destroyed ones included. */
  namesEverUsed(projectId: string): Promise<Set<string>>;
  /** The ids an environment's files and processes are named by. */
  footprint(environmentId: string): Promise<EnvironmentFootprint>;
  /** Which of `ids` exist as rows of `kind` (for telling leftovers from live records). */
  ids(kind: RecordKind, ids: readonly string[]): Promise<Set<string>>;
}

const LIVE = "state <> 'destroyed'";

export function previewsRepository(q: Queryable): PreviewsRepository {
  const one = async (sql: string, params: unknown[], id: string): Promise<Preview> => {
    const rows = await q.query<PreviewRow>(sql, params);
    if (!rows[0]) throw new MaestroError('not_found', `preview ${id} does not exist`, { id });
    return toPreview(rows[0]);
  };

  return {
    async create(input) {
      checkText('projectId', input.projectId);
      checkOneOf('kind', input.kind, PREVIEW_KINDS);
      checkOneOf('origin', input.origin, PREVIEW_ORIGINS);
      checkText('branch', input.branch);
      if (input.kind === 'pull_request') checkCount('prNumber', input.prNumber);
      if (input.names.length === 0) throw new MaestroError('validation_error', 'a preview needs at least one name to try');
      for (const name of input.names) {
        checkName('environment', name);
        const rows = await q.query<PreviewRow>(
          `INSERT INTO previews (id, project_id, name, kind, branch, pr_number, head_sha, origin, state, expires_at)
           SELECT $1, $2, $3, $4, $5, $6, $7, $8, 'active', $9
           WHERE NOT EXISTS (
             SELECT 1 FROM environments e
             WHERE e.project_id = $2 AND e.name = $3
               AND NOT EXISTS (SELECT 1 FROM previews p WHERE p.project_id = $2 AND p.name = $3)
           )
           ON CONFLICT (project_id, name) WHERE ${LIVE} DO NOTHING
           RETURNING *`,
          [
            previewId(),
            input.projectId,
            name,
            input.kind,
            input.branch,
            input.kind === 'pull_request' ? input.prNumber : null,
            input.headSha ?? null,
            input.origin,
            input.expiresAt,
          ],
        );
        if (rows[0]) return toPreview(rows[0]);
      }
      return undefined;
    },

    async get(id) {
      const rows = await q.query<PreviewRow>('SELECT * FROM previews WHERE id = $1', [id]);
      return rows[0] && toPreview(rows[0]);
    },

    async getByName(projectId, name) {
      const rows = await q.query<PreviewRow>(`SELECT * FROM previews WHERE project_id = $1 AND name = $2 AND ${LIVE}`, [projectId, name]);
      return rows[0] && toPreview(rows[0]);
    },

    async findLive(projectId, subject) {
      const rows =
        subject.kind === 'branch'
          ? await q.query<PreviewRow>(
              `SELECT * FROM previews WHERE project_id = $1 AND kind = 'branch' AND branch = $2 AND ${LIVE} ORDER BY seq LIMIT 1`,
              [projectId, subject.branch],
            )
          : await q.query<PreviewRow>(
              `SELECT * FROM previews WHERE project_id = $1 AND kind = 'pull_request' AND pr_number = $2 AND ${LIVE} ORDER BY seq LIMIT 1`,
              [projectId, subject.number],
            );
      return rows[0] && toPreview(rows[0]);
    },

    async listLive(projectId) {
      const rows = await q.query<PreviewRow>(
        `SELECT * FROM previews WHERE ${LIVE} AND ($1::text IS NULL OR project_id = $1) ORDER BY seq`,
        [projectId ?? null],
      );
      return rows.map(toPreview);
    },

    async listAll(filter = {}) {
      const rows = await q.query<PreviewRow>(
        'SELECT * FROM previews WHERE ($1::text IS NULL OR project_id = $1) ORDER BY seq DESC LIMIT $2',
        [filter.projectId ?? null, checkLimit(filter.limit, 100)],
      );
      return rows.map(toPreview);
    },

    async countLive(projectId) {
      const rows = await q.query<{ count: string | number }>(`SELECT count(*) AS count FROM previews WHERE project_id = $1 AND ${LIVE}`, [projectId]);
      return num(rows[0]!.count);
    },

    async setEnvironment(id, environmentId) {
      checkText('environmentId', environmentId);
      return one('UPDATE previews SET environment_id = $2, updated_at = now() WHERE id = $1 RETURNING *', [id, environmentId], id);
    },

    async updateHead(id, headSha, expiresAt) {
      checkText('headSha', headSha);
      return one(
        `UPDATE previews SET head_sha = $2, expires_at = $3, updated_at = now()
         WHERE id = $1 AND ${LIVE} RETURNING *`,
        [id, headSha, expiresAt],
        id,
      );
    },

    async extend(id, byMs, now = new Date()) {
      if (checkCount('byMs', byMs) === 0) throw new MaestroError('validation_error', 'extend a preview by more than 0', { field: 'byMs' });
      return one(
        `UPDATE previews SET expires_at = GREATEST(expires_at, $3::timestamptz) + $2::bigint * interval '1 millisecond', updated_at = now()
         WHERE id = $1 AND ${LIVE} RETURNING *`,
        [id, byMs, now],
        id,
      );
    },

    async setState(id, state) {
      checkOneOf('state', state, ['active', 'sleeping'] as const);
      return one(`UPDATE previews SET state = $2, updated_at = now() WHERE id = $1 AND ${LIVE} RETURNING *`, [id, state], id);
    },

    async touch(id, at) {
      // GREATEST skips NULL: the first request sets it, an older report never moves it back.
      await q.query('UPDATE previews SET last_request_at = GREATEST(last_request_at, $2::timestamptz) WHERE id = $1', [id, at]);
    },

    async markDestroyed(id, reason) {
      checkText('reason', reason);
      await q.query(
        `UPDATE previews SET state = 'destroyed', destroy_reason = $2, destroyed_at = now(), updated_at = now() WHERE id = $1 AND ${LIVE}`,
        [id, reason],
      );
      return one('SELECT * FROM previews WHERE id = $1', [id], id);
    },

    async expired(now) {
      const rows = await q.query<PreviewRow>(`SELECT * FROM previews WHERE ${LIVE} AND expires_at <= $1 ORDER BY expires_at, seq`, [now]);
      return rows.map(toPreview);
    },

    async unfinished() {
      const rows = await q.query<PreviewRow>("SELECT * FROM previews WHERE state = 'destroyed' AND environment_id IS NOT NULL ORDER BY seq");
      return rows.map(toPreview);
    },

    async namesEverUsed(projectId) {
      const rows = await q.query<{ name: string }>('SELECT DISTINCT name FROM previews WHERE project_id = $1', [projectId]);
      return new Set(rows.map((row) => row.name));
    },

    async footprint(environmentId) {
      const deployments = await q.query<{ id: string }>('SELECT id FROM deployments WHERE environment_id = $1 ORDER BY seq', [environmentId]);
      const builds = await q.query<{ id: string }>(
        'SELECT b.id FROM builds b JOIN deployments d ON d.id = b.deployment_id WHERE d.environment_id = $1 ORDER BY b.seq',
        [environmentId],
      );
      const revisions = await q.query<{ id: string }>('SELECT id FROM revisions WHERE environment_id = $1 ORDER BY seq', [environmentId]);
      return {
        deploymentIds: deployments.map((row) => row.id),
        buildIds: builds.map((row) => row.id),
        revisionIds: revisions.map((row) => row.id),
      };
    },

    async ids(kind, ids) {
      const table = checkOneOf('kind', kind, ['deployments', 'builds', 'revisions'] as const);
      if (ids.length === 0) return new Set();
      const rows = await q.query<{ id: string }>(`SELECT id FROM ${table} WHERE id = ANY($1::text[])`, [[...ids]]);
      return new Set(rows.map((row) => row.id));
    },
  };
}
