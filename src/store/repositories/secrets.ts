import { MaestroError } from '../../common/index.js';
import type { Queryable } from '../db.js';
import { newId } from '../ids.js';
import { compact, num, opt } from '../rows.js';
import { checkText } from '../validate.js';

/** Where a secret lives: its organisation, and maybe a project, and maybe one of that project's environments. */
export interface SecretScope {
  organisationId: string;
  projectId?: string;
  environmentId?: string;
}

/** A secret as listings show it: never its value. */
export interface SecretRecord extends SecretScope {
  id: string;
  name: string;
  /** The version in use; earlier ones are kept. */
  version: number;
  createdAt: Date;
  updatedAt: Date;
  updatedBy?: string;
}

/** A secret's current version, still sealed under its data key. */
export interface SealedSecret extends SecretRecord {
  dataKeyId: string;
  valueSealed: string;
}

export interface DataKeyRecord {
  id: string;
  organisationId: string;
  /** Absent: the organisation's own data key. */
  projectId?: string;
  wrappedKey: string;
  createdAt: Date;
  rewrappedAt?: Date;
}

export interface MasterKeyCheck {
  keyId: string;
  checkSealed: string;
  createdAt: Date;
  rotatedAt?: Date;
}

export interface SecretsRepository {
  /** The known value sealed under the master key, if one was recorded. */
  masterCheck(options?: { lock?: 'share' | 'update' }): Promise<MasterKeyCheck | undefined>;
  /** Records the check unless one exists (another start may just have); true when this one was recorded. */
  createMasterCheck(input: { keyId: string; checkSealed: string }): Promise<boolean>;
  /** A rotation's last write: the check under the new key. */
  replaceMasterCheck(input: { keyId: string; checkSealed: string }): Promise<void>;

  /** The data key of a project, or of the organisation when `projectId` is absent. */
  dataKey(scope: { organisationId: string; projectId?: string }): Promise<DataKeyRecord | undefined>;
  dataKeyById(id: string): Promise<DataKeyRecord | undefined>;
  /** Records a data key unless the scope has one; returns the one the scope has now (this one or the winner's). */
  createDataKey(input: { organisationId: string; projectId?: string; wrappedKey: string }): Promise<DataKeyRecord>;
  allDataKeys(): Promise<DataKeyRecord[]>;
  rewrapDataKey(id: string, wrappedKey: string): Promise<void>;

  /**
   * A new version of a secret (the first makes the secret): `seal` is given the version number, which
   * the sealed value is bound to. Run it inside a transaction.
   */
  putVersion(input: {
    scope: SecretScope;
    name: string;
    dataKeyId: string;
    actor?: string;
    seal: (version: number) => string;
  }): Promise<SecretRecord>;
  /** The secrets of one scope exactly (not those it inherits), by name. */
  list(scope: SecretScope): Promise<SecretRecord[]>;
  /** Environment-level secrets of every environment of a project. */
  listEnvironmentLevel(organisationId: string, projectId: string): Promise<SecretRecord[]>;
  /** The current versions of everything that reaches an environment: its organisation's, its project's and its own. */
  reaching(scope: SecretScope): Promise<SealedSecret[]>;
  /** One secret's current version. */
  get(scope: SecretScope, name: string): Promise<SealedSecret | undefined>;
  /** Every secret's current version (what redaction hides). */
  allCurrent(): Promise<SealedSecret[]>;
  /** Removes a secret with all its versions; false when there was none. */
  remove(scope: SecretScope, name: string): Promise<boolean>;
  /** Changes whenever any secret is set or removed: a cheap way to see that cached values are stale. */
  stamp(): Promise<string>;
}

interface SecretRow {
  id: string;
  organisation_id: string;
  project_id: string | null;
  environment_id: string | null;
  name: string;
  current_version: number;
  created_at: Date;
  updated_at: Date;
  updated_by: string | null;
}

interface SealedRow extends SecretRow {
  data_key_id: string;
  value_sealed: string;
}

interface DataKeyRow {
  id: string;
  organisation_id: string;
  project_id: string | null;
  wrapped_key: string;
  created_at: Date;
  rewrapped_at: Date | null;
}

const toSecret = (row: SecretRow): SecretRecord =>
  compact({
    id: row.id,
    organisationId: row.organisation_id,
    projectId: opt(row.project_id),
    environmentId: opt(row.environment_id),
    name: row.name,
    version: num(row.current_version),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    updatedBy: opt(row.updated_by),
  });

const toSealed = (row: SealedRow): SealedSecret => ({ ...toSecret(row), dataKeyId: row.data_key_id, valueSealed: row.value_sealed });

const toDataKey = (row: DataKeyRow): DataKeyRecord =>
  compact({
    id: row.id,
    organisationId: row.organisation_id,
    projectId: opt(row.project_id),
    wrappedKey: row.wrapped_key,
    createdAt: row.created_at,
    rewrappedAt: opt(row.rewrapped_at),
  });

const SECRET_COLUMNS = 's.id, s.organisation_id, s.project_id, s.environment_id, s.name, s.current_version, s.created_at, s.updated_at, s.updated_by';
const SEALED_FROM = `SELECT ${SECRET_COLUMNS}, v.data_key_id, v.value_sealed
  FROM secrets s JOIN secret_versions v ON v.secret_id = s.id AND v.version = s.current_version`;
/** One scope exactly; $1 organisation, $2 project ('' for none), $3 environment ('' for none). */
const SAME_SCOPE = `s.organisation_id = $1 AND COALESCE(s.project_id, '') = $2 AND COALESCE(s.environment_id, '') = $3`;

function scopeParams(scope: SecretScope): [string, string, string] {
  checkText('organisationId', scope.organisationId);
  if (scope.environmentId !== undefined && scope.projectId === undefined) {
    throw new MaestroError('internal', 'an environment-level secret needs its project');
  }
  return [scope.organisationId, scope.projectId ?? '', scope.environmentId ?? ''];
}

export function secretsRepository(q: Queryable): SecretsRepository {
  const repository: SecretsRepository = {
    async masterCheck(options = {}) {
      const lock = options.lock === 'update' ? ' FOR UPDATE' : options.lock === 'share' ? ' FOR SHARE' : '';
      const rows = await q.query<{ key_id: string; check_sealed: string; created_at: Date; rotated_at: Date | null }>(
        `SELECT key_id, check_sealed, created_at, rotated_at FROM secret_master_key${lock}`,
      );
      const row = rows[0];
      return row && compact({ keyId: row.key_id, checkSealed: row.check_sealed, createdAt: row.created_at, rotatedAt: opt(row.rotated_at) });
    },

    async createMasterCheck({ keyId, checkSealed }) {
      const rows = await q.query(
        `INSERT INTO secret_master_key (key_id, check_sealed) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING key_id`,
        [checkText('keyId', keyId), checkText('checkSealed', checkSealed)],
      );
      return rows.length > 0;
    },

    async replaceMasterCheck({ keyId, checkSealed }) {
      const rows = await q.query(`UPDATE secret_master_key SET key_id = $1, check_sealed = $2, rotated_at = now() RETURNING key_id`, [
        checkText('keyId', keyId),
        checkText('checkSealed', checkSealed),
      ]);
      if (rows.length === 0) throw new MaestroError('internal', 'there is no master key check to replace');
    },

    async dataKey({ organisationId, projectId }) {
      const rows = await q.query<DataKeyRow>(`SELECT * FROM secret_data_keys WHERE organisation_id = $1 AND COALESCE(project_id, '') = $2`, [
        organisationId,
        projectId ?? '',
      ]);
      return rows[0] && toDataKey(rows[0]);
    },

    async dataKeyById(id) {
      const rows = await q.query<DataKeyRow>(`SELECT * FROM secret_data_keys WHERE id = $1`, [id]);
      return rows[0] && toDataKey(rows[0]);
    },

    async createDataKey({ organisationId, projectId, wrappedKey }) {
      await q.query(
        `INSERT INTO secret_data_keys (id, organisation_id, project_id, wrapped_key) VALUES ($1, $2, $3, $4)
         ON CONFLICT (organisation_id, COALESCE(project_id, '')) DO NOTHING`,
        [newId('dky'), checkText('organisationId', organisationId), projectId ?? null, checkText('wrappedKey', wrappedKey)],
      );
      const created = await repository.dataKey({ organisationId, ...(projectId ? { projectId } : {}) });
      if (!created) throw new MaestroError('internal', 'a data key vanished as it was made');
      return created;
    },

    async allDataKeys() {
      const rows = await q.query<DataKeyRow>(`SELECT * FROM secret_data_keys ORDER BY created_at, id`);
      return rows.map(toDataKey);
    },

    async rewrapDataKey(id, wrappedKey) {
      await q.query(`UPDATE secret_data_keys SET wrapped_key = $2, rewrapped_at = now() WHERE id = $1`, [id, checkText('wrappedKey', wrappedKey)]);
    },

    async putVersion({ scope, name, dataKeyId, actor, seal }) {
      const [organisationId, projectId, environmentId] = scopeParams(scope);
      const rows = await q.query<SecretRow>(
        `INSERT INTO secrets AS s (id, organisation_id, project_id, environment_id, name, current_version, updated_by)
         VALUES ($1, $2, NULLIF($3, ''), NULLIF($4, ''), $5, 1, $6)
         ON CONFLICT (organisation_id, COALESCE(project_id, ''), COALESCE(environment_id, ''), name)
         DO UPDATE SET current_version = s.current_version + 1, updated_at = now(), updated_by = $6
         RETURNING ${SECRET_COLUMNS}`,
        [newId('sec'), organisationId, projectId, environmentId, checkText('name', name), actor ?? null],
      );
      const secret = toSecret(rows[0]!);
      await q.query(`INSERT INTO secret_versions (secret_id, version, data_key_id, value_sealed, created_by) VALUES ($1, $2, $3, $4, $5)`, [
        secret.id,
        secret.version,
        dataKeyId,
        seal(secret.version),
        actor ?? null,
      ]);
      return secret;
    },

    async list(scope) {
      const rows = await q.query<SecretRow>(`SELECT ${SECRET_COLUMNS} FROM secrets s WHERE ${SAME_SCOPE} ORDER BY s.name`, scopeParams(scope));
      return rows.map(toSecret);
    },

    async listEnvironmentLevel(organisationId, projectId) {
      const rows = await q.query<SecretRow>(
        `SELECT ${SECRET_COLUMNS} FROM secrets s WHERE s.organisation_id = $1 AND s.project_id = $2 AND s.environment_id IS NOT NULL
         ORDER BY s.environment_id, s.name`,
        [organisationId, projectId],
      );
      return rows.map(toSecret);
    },

    async reaching(scope) {
      const [organisationId, projectId, environmentId] = scopeParams(scope);
      const rows = await q.query<SealedRow>(
        `${SEALED_FROM}
         WHERE s.organisation_id = $1
           AND (s.project_id IS NULL OR s.project_id = NULLIF($2, ''))
           AND (s.environment_id IS NULL OR s.environment_id = NULLIF($3, ''))
         ORDER BY s.name`,
        [organisationId, projectId, environmentId],
      );
      return rows.map(toSealed);
    },

    async get(scope, name) {
      const rows = await q.query<SealedRow>(`${SEALED_FROM} WHERE ${SAME_SCOPE} AND s.name = $4`, [...scopeParams(scope), name]);
      return rows[0] && toSealed(rows[0]);
    },

    async allCurrent() {
      const rows = await q.query<SealedRow>(`${SEALED_FROM} ORDER BY s.id`);
      return rows.map(toSealed);
    },

    async remove(scope, name) {
      const rows = await q.query(`DELETE FROM secrets s WHERE ${SAME_SCOPE} AND s.name = $4 RETURNING s.id`, [...scopeParams(scope), name]);
      return rows.length > 0;
    },

    async stamp() {
      const rows = await q.query<{ n: string | number; latest: string | null; versions: string | number | null }>(
        `SELECT count(*) AS n, max(updated_at)::text AS latest, sum(current_version) AS versions FROM secrets`,
      );
      const row = rows[0]!;
      return `${num(row.n)}:${row.latest ?? ''}:${row.versions === null ? 0 : num(row.versions)}`;
    },
  };
  return repository;
}
