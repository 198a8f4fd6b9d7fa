import { MaestroError } from '../common/index.js';

/** The roles the git remote and the remote cache treat as read-only; they may read waivers, not make them. */
const READ_ONLY_ROLES: readonly string[] = ['viewer', 'cache-reader'];

/** Waiving (or revoking a waiver) lets releases past a gate, so read-only tokens may not. */
export function checkCanWaive(actor: { name: string; role: string } | undefined): void {
  if (actor && !READ_ONLY_ROLES.includes(actor.role)) return;
  throw new MaestroError(
    'permission_denied',
    `the token "${actor?.name ?? 'unknown'}" has the read-only role "${actor?.role ?? 'none'}": it may list waivers but not waive or revoke; use a token with another role`,
  );
}
