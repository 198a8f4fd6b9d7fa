/** Who may do what with the remote cache. Roles are free-form strings in the store; these are read-only. */
import { MaestroError } from '../../common/index.js';

/** Tokens for developer laptops: they get cache hits but never write what CI then trusts. */
export const READ_ONLY_CACHE_ROLES: readonly string[] = ['viewer', 'cache-reader'];

export interface CacheAccess {
  read: boolean;
  write: boolean;
  /** Create the project a namespace names, on its first write. */
  createNamespace: boolean;
}

export function cacheAccess(role: string): CacheAccess {
  const write = !READ_ONLY_CACHE_ROLES.includes(role);
  return { read: true, write, createNamespace: write };
}

export function checkCacheWrite(actor: { name: string; role: string } | undefined): void {
  if (actor && cacheAccess(actor.role).write) return;
  throw new MaestroError(
    'permission_denied',
    `the token "${actor?.name ?? 'unknown'}" has the read-only role "${actor?.role ?? 'none'}": it may read the remote cache but not write to it; ` +
      'writes need a token with another role (e.g. the one your CI uses)',
  );
}
