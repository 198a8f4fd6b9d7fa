/**
 * A console login by email and password: throttled per account and address, every attempt recorded,
 * and on success a new session whose secrets are handed back once (the cookie's, and the CSRF token).
 */
import { MaestroError } from '../common/index.js';
import { THROTTLED, type Session, type SessionMethod, type Store, type User } from '../store/index.js';
import { LOGIN_LIMITS, decideLoginThrottle } from './login-throttle.js';
import { verifyAgainstDecoy, verifyPassword } from './passwords.js';
import { SESSION_LIFETIME_MS, generateCsrfToken, generateSessionSecret } from './sessions.js';
import { hashToken } from './tokens.js';

type LoginStore = Pick<Store, 'users' | 'sessions' | 'loginAttempts'>;

export interface LoginInput {
  email: string;
  password: string;
  address: string;
  userAgent?: string;
  now?: Date;
}

export interface LoggedIn {
  user: User;
  session: Session;
  /** The cookie's value: shown once, stored only as a hash. */
  secret: string;
  csrfToken: string;
}

/** Deliberately the same for an unknown email, a wrong password and an account without one. */
const WRONG = 'the email or password is wrong';

export async function logIn(store: LoginStore, input: LoginInput): Promise<LoggedIn> {
  const now = input.now ?? new Date();
  const email = input.email.trim();
  const attempt = (succeeded: boolean, reason?: string) =>
    store.loginAttempts.record({ email, address: input.address, succeeded, ...(reason ? { reason } : {}), at: now });

  const since = new Date(now.getTime() - Math.max(LOGIN_LIMITS.account.windowMs, LOGIN_LIMITS.address.windowMs));
  const throttle = decideLoginThrottle({ ...(await store.loginAttempts.failures({ email, address: input.address, since })), now });
  if (!throttle.allowed) {
    await attempt(false, THROTTLED);
    const seconds = Math.ceil(throttle.retryAfterMs / 1000);
    const who = throttle.by === 'account' ? 'this account' : 'your address';
    throw new MaestroError('rate_limited', `too many failed logins for ${who}: try again in ${seconds} s`, { retryAfterSeconds: seconds });
  }

  const found = await store.users.credentials(email);
  const matches = found?.passwordHash ? await verifyPassword(input.password, found.passwordHash) : await verifyAgainstDecoy(input.password);
  if (!found || !matches) {
    await attempt(false, !found ? 'unknown_user' : found.passwordHash ? 'wrong_password' : 'no_password');
    throw new MaestroError('unauthorized', WRONG);
  }
  if (found.user.disabledAt) {
    await attempt(false, 'disabled');
    throw new MaestroError('unauthorized', `the account ${found.user.email} is disabled; ask an owner of the organisation`);
  }

  await attempt(true);
  const opened = await openSession(store, { userId: found.user.id, method: 'password', address: input.address, now, ...(input.userAgent ? { userAgent: input.userAgent } : {}) });
  return { user: found.user, ...opened };
}

/** A new session for a person who has proven who they are (a password here, an SSO login elsewhere). */
export async function openSession(
  store: Pick<Store, 'sessions'>,
  input: { userId: string; method: SessionMethod; address: string; userAgent?: string; now?: Date },
): Promise<{ session: Session; secret: string; csrfToken: string }> {
  const now = input.now ?? new Date();
  const secret = generateSessionSecret();
  const csrfToken = generateCsrfToken();
  const session = await store.sessions.create({
    hash: hashToken(secret),
    userId: input.userId,
    csrfHash: hashToken(csrfToken),
    method: input.method,
    expiresAt: new Date(now.getTime() + SESSION_LIFETIME_MS),
    address: input.address,
    ...(input.userAgent ? { userAgent: input.userAgent } : {}),
  });
  return { session, secret, csrfToken };
}
