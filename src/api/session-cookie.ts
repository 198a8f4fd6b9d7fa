/** The console's session cookie, set and cleared the same way by every sign-in (password here, SSO elsewhere). */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { SESSION_COOKIE } from '../identity/index.js';

const attributes = (request: FastifyRequest) =>
  ({ httpOnly: true, sameSite: 'lax', secure: request.protocol === 'https', path: '/' }) as const;

/** HTTP-only (no script reads it), SameSite=Lax (other sites' forms and fetches do not carry it), Secure over https. */
export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, secret: string, expiresAt: Date): void {
  reply.setCookie(SESSION_COOKIE, secret, { ...attributes(request), expires: expiresAt });
}

export function clearSessionCookie(request: FastifyRequest, reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, attributes(request));
}
