/**
 * Console sessions: a random secret in an HTTP-only cookie (only its SHA-256 is stored), and a CSRF
 * token the console sends back in `x-csrf-token` with every request that changes something. A session
 * ends when it is revoked, a week after login, or after a day without use.
 */
import { randomBytes } from 'node:crypto';
import { hashToken, sameSecret } from './tokens.js';

export const SESSION_COOKIE = 'maestro_session';
export const CSRF_HEADER = 'x-csrf-token';
export const SESSION_LIFETIME_MS = 7 * 24 * 3_600_000;
export const SESSION_IDLE_MS = 24 * 3_600_000;
/** Recording every request's time would write on every read; a minute's precision is plenty for idle expiry. */
export const SESSION_TOUCH_MS = 60_000;

const SESSION_PREFIX = 'mas_';

export function generateSessionSecret(): string {
  return SESSION_PREFIX + randomBytes(32).toString('base64url');
}

export function generateCsrfToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Whether a CSRF token from a request is the session's: compares hashes in constant time. */
export function csrfMatches(sent: string | undefined, storedHash: string): boolean {
  return sent !== undefined && sent.length > 0 && sent.length <= 200 && sameSecret(hashToken(sent), storedHash);
}

export type SessionState = 'active' | 'expired' | 'idle';

export function sessionState(session: { expiresAt: Date; lastSeenAt: Date }, now: Date): SessionState {
  if (session.expiresAt.getTime() <= now.getTime()) return 'expired';
  if (session.lastSeenAt.getTime() + SESSION_IDLE_MS <= now.getTime()) return 'idle';
  return 'active';
}

/** Methods that change nothing, so a cookie alone may make them (the rest need the CSRF token too). */
export function isSafeMethod(method: string): boolean {
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS';
}
