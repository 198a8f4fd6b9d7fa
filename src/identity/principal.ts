/**
 * From a credential to a Principal: a bearer token (or a git password) by its hash, a session by its
 * cookie. Unknown, expired, revoked and forged credentials are `unauthorized`, and so are those of people
 * whose account is disabled.
 */
import { MaestroError } from '../common/index.js';
import { DEFAULT_ORGANISATION_ID, PERSONAL_TOKEN_ROLE, type Membership, type Session, type Store, type Token, type User } from '../store/index.js';
import type { Grant, Principal } from './access.js';
import { SESSION_TOUCH_MS, sessionState } from './sessions.js';
import { hashToken } from './tokens.js';

type IdentityStore = Pick<Store, 'tokens' | 'users' | 'memberships' | 'sessions'>;

export function membershipGrants(memberships: readonly Membership[]): Grant[] {
  return memberships.map((membership) => ({
    role: membership.role,
    organisationId: membership.organisationId,
    ...(membership.projectId ? { projectId: membership.projectId } : {}),
    ...(membership.projectName ? { projectName: membership.projectName } : {}),
  }));
}

export function tokenGrant(token: Token): Grant {
  return {
    role: token.role,
    organisationId: token.organisationId,
    ...(token.projectId ? { projectId: token.projectId } : {}),
    ...(token.projectName ? { projectName: token.projectName } : {}),
  };
}

const person = (user: User) => ({ id: user.id, email: user.email, name: user.name });

async function activeUser(store: IdentityStore, userId: string, credential: string): Promise<User> {
  const user = await store.users.get(userId);
  if (!user) throw new MaestroError('unauthorized', `${credential} belongs to a user who no longer exists`);
  if (user.disabledAt) throw new MaestroError('unauthorized', `${credential} belongs to ${user.email}, whose account is disabled; ask an owner of the organisation`);
  return user;
}

/** The principal of a stored token, or `unauthorized` when it has expired or its maker may no longer sign in. */
export async function principalOfToken(store: IdentityStore, token: Token, now: Date = new Date()): Promise<Principal> {
  if (token.expiresAt && token.expiresAt.getTime() <= now.getTime()) {
    throw new MaestroError('unauthorized', `the API token "${token.name}" expired at ${token.expiresAt.toISOString()}; make a new one with \`maestro tokens create\``);
  }
  const principal: Principal = { kind: 'token', name: token.name, organisationId: token.organisationId, grants: [tokenGrant(token)], tokenId: token.id };
  if (token.userId) {
    const user = await activeUser(store, token.userId, `the API token "${token.name}"`);
    principal.user = person(user);
    const memberships = membershipGrants((await store.memberships.forUser(user.id)).filter((m) => m.organisationId === token.organisationId));
    // A personal token holds what its person holds; any other is capped by it.
    if (token.role === PERSONAL_TOKEN_ROLE) principal.grants = memberships;
    else principal.ceiling = memberships;
  } else if (token.role === PERSONAL_TOKEN_ROLE) {
    principal.grants = [];
  }
  if (!token.lastUsedAt || now.getTime() - token.lastUsedAt.getTime() >= SESSION_TOUCH_MS) await store.tokens.touch(token.id);
  return principal;
}

/** A bearer token (or a git password): looked up by its hash. */
export async function authenticateToken(store: IdentityStore, secret: string, now: Date = new Date()): Promise<Principal> {
  const token = await store.tokens.findByHash(hashToken(secret));
  if (!token) throw new MaestroError('unauthorized', 'the API token is not valid (unknown, revoked or expired): run `maestro login` or make a new one with `maestro tokens create`');
  return principalOfToken(store, token, now);
}

/** A person's principal, from their memberships (in their organisation: Maestro has one per server for now). */
export async function principalOfUser(store: IdentityStore, user: User): Promise<Principal> {
  const memberships = await store.memberships.forUser(user.id);
  const organisationId = memberships[0]?.organisationId ?? DEFAULT_ORGANISATION_ID;
  const grants = membershipGrants(memberships.filter((membership) => membership.organisationId === organisationId));
  return { kind: 'session', name: user.email, organisationId, grants, user: person(user) };
}

/** A session cookie's secret: the session (recorded as seen), its CSRF hash, and the person's principal. */
export async function authenticateSession(
  store: IdentityStore,
  secret: string,
  now: Date = new Date(),
): Promise<{ principal: Principal; session: Session; csrfHash: string }> {
  const found = await store.sessions.findByHash(hashToken(secret));
  if (!found) throw new MaestroError('unauthorized', 'the session is not valid (unknown, or you logged out): log in again');
  const state = sessionState(found.session, now);
  if (state !== 'active') {
    throw new MaestroError('unauthorized', state === 'expired' ? 'the session has expired: log in again' : 'the session ended after a day without use: log in again');
  }
  const user = await activeUser(store, found.session.userId, 'the session');
  const principal = { ...(await principalOfUser(store, user)), sessionId: found.session.id };
  if (now.getTime() - found.session.lastSeenAt.getTime() >= SESSION_TOUCH_MS) await store.sessions.touch(found.session.id, now);
  return { principal, session: found.session, csrfHash: found.csrfHash };
}
