/** What names a cache entry: the client's task hash, and the namespace (a Maestro project) it lives in. */
import { MaestroError } from '../../common/index.js';

// The API server's router answers 414 for a longer path segment, so a hash can be no longer anyway.
export const MAX_HASH_LENGTH = 100;
/** Turborepo's hashes are hex, Nx's are decimal; anything else that is this safe is fine too. */
export const HASH_PATTERN = /^[A-Za-z0-9._-]{1,100}$/;
export const HASH_RULE = `a cache hash is 1 to ${MAX_HASH_LENGTH} letters, digits, ".", "_" or "-"`;

// Namespaces are project names, and project names become host names (see the store's checkName).
const NAMESPACE_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const TURBO_TEAM_ID_PREFIX = 'team_';

export function isCacheHash(value: string): boolean {
  return HASH_PATTERN.test(value);
}

export function checkCacheHash(value: string): string {
  if (!isCacheHash(value)) {
    throw new MaestroError('validation_error', `"${value.slice(0, 40)}" is not a cache hash: ${HASH_RULE}`, { field: 'hash' });
  }
  return value;
}

export function checkNamespace(name: string, where: string): string {
  if (!NAMESPACE_PATTERN.test(name)) {
    throw new MaestroError(
      'validation_error',
      `${where} "${name.slice(0, 80)}" is not a Maestro project name: use 1-63 lowercase letters, digits and dashes, starting and ending with a letter or digit`,
      { field: where },
    );
  }
  return name;
}

/** The project turbo's query names, unchecked (the access guard reads it before the request is validated). */
export function turboProject(query: { slug?: unknown; teamId?: unknown }): string | undefined {
  if (typeof query.slug === 'string' && query.slug !== '') return query.slug;
  if (typeof query.teamId === 'string' && query.teamId !== '') {
    return query.teamId.startsWith(TURBO_TEAM_ID_PREFIX) ? query.teamId.slice(TURBO_TEAM_ID_PREFIX.length) : query.teamId;
  }
  return undefined;
}

/**
 * Turborepo sends its team as `?slug=` (TURBO_TEAM) or `?teamId=` (TURBO_TEAMID, which turbo only
 * sends when it starts with "team_"). Either names the project; the slug wins when both come.
 */
export function turboNamespace(query: { slug?: string | undefined; teamId?: string | undefined }): string {
  const project = turboProject(query);
  if (project !== undefined) return checkNamespace(project, query.slug ? 'slug (TURBO_TEAM)' : 'teamId (TURBO_TEAMID without its "team_" prefix)');
  throw new MaestroError(
    'validation_error',
    'no cache namespace: set TURBO_TEAM to the Maestro project the cache belongs to (turbo sends it as ?slug=)',
    { field: 'slug' },
  );
}
