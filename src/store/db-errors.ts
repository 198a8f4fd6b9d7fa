import { MaestroError } from '../common/index.js';

/** What a violated constraint means, in words a person can act on. Keys are constraint names from the migrations. */
const CONSTRAINT_MESSAGES: Record<string, string> = {
  services_project_fk: 'the project does not exist',
  environments_project_fk: 'the project does not exist',
  deployments_project_fk: 'the project does not exist',
  deployments_service_fk: 'the service does not exist in this project',
  deployments_environment_fk: 'the environment does not exist in this project',
  deployments_release_fk: 'the release does not exist',
  deployments_revision_fk: 'the revision does not exist',
  builds_deployment_fk: 'the deployment does not exist',
  revisions_service_fk: 'the service does not exist',
  revisions_environment_fk: 'the environment does not exist',
  releases_service_fk: 'the service does not exist',
  releases_environment_fk: 'the environment does not exist',
  releases_revision_fk: 'the revision does not exist for this service and environment',
  releases_deployment_fk: 'the deployment does not exist',
  live_service_fk: 'the service does not exist',
  live_environment_fk: 'the environment does not exist',
  live_release_fk: 'the release does not exist for this service and environment',
  live_revision_fk: 'the revision does not exist for this service and environment',
  live_previous_revision_fk: 'the previous revision does not exist for this service and environment',
  replicas_revision_fk: 'the revision does not exist',
  tokens_name_active: 'a token with this name already exists; revoke it first or pick another name',
  tokens_hash_key: 'a token with this hash already exists',
  tokens_project_fk: 'the project does not exist in this organisation',
  tokens_organisation_fk: 'the organisation does not exist',
  tokens_user_fk: 'the user does not exist',
  memberships_user_fk: 'the user does not exist',
  memberships_organisation_fk: 'the organisation does not exist',
  memberships_project_fk: 'the project does not exist in this organisation',
  user_identities_pkey: 'this identity is already linked to a user',
  user_identities_user_fk: 'the user does not exist',
  sessions_user_fk: 'the user does not exist',
  sessions_hash_key: 'a session with this hash already exists',
};

const SILENT_DETAIL = new Set(['tokens_hash_key', 'sessions_hash_key']);

interface PgLikeError {
  code?: unknown;
  constraint?: unknown;
  detail?: unknown;
}

/**
 * Turns the constraint violations both drivers report (SQLSTATE 23503 foreign key, 23505 unique), and
 * text Postgres cannot store (22021, 22P05), into MaestroErrors; anything else passes through untouched. The details carry only ids and names,
 * which the repositories put there themselves.
 */
export function translateDbError(error: unknown): unknown {
  if (typeof error !== 'object' || error === null) return error;
  const { code, constraint } = error as PgLikeError;
  let { detail } = error as PgLikeError;
  // Postgres text cannot hold a NUL character: a value with one is bad input, not a failure of the server.
  if (code === '22021' || code === '22P05') {
    return new MaestroError('validation_error', 'a value holds a character Postgres cannot store (such as \\u0000): remove it', { sqlstate: code });
  }
  if (code !== '23503' && code !== '23505') return error;
  const name = typeof constraint === 'string' ? constraint : '';
  const meaning = CONSTRAINT_MESSAGES[name];
  // A token hash is not the token, but it has no business in an error message either.
  if (SILENT_DETAIL.has(name)) detail = undefined;
  const details = { constraint: name, ...(typeof detail === 'string' ? { detail } : {}) };
  if (code === '23503') {
    return new MaestroError('not_found', `${meaning ?? 'a referenced record does not exist'}${describe(detail)}`, details);
  }
  return new MaestroError('conflict', `${meaning ?? 'the record already exists'}${describe(detail)}`, details);
}

function describe(detail: unknown): string {
  return typeof detail === 'string' && detail.length > 0 ? ` (${detail})` : '';
}
