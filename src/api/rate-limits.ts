/**
 * Requests per minute, per token (or session) and, for callers without valid credentials, per address.
 * Failed authentications count against the address, so guessing tokens is limited like any other
 * unauthenticated traffic. Health checks and the router's wake calls are never limited.
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { MaestroError } from '../common/index.js';

export interface RateLimits {
  perTokenPerMinute: number;
  perAddressPerMinute: number;
}

export const DEFAULT_RATE_LIMITS: RateLimits = { perTokenPerMinute: 600, perAddressPerMinute: 300 };

/** Build tools ask the remote cache once per task: its routes get this many times the budget, in a bucket of their own. */
export const BULK_FACTOR = 10;
const BULK_PREFIXES = ['/v8/', '/nx/'];

export function isBulkRoute(url: string | undefined): boolean {
  return url !== undefined && BULK_PREFIXES.some((prefix) => url.startsWith(prefix));
}

/** Whose budget a request spends: its token's, its session's, or its address's. */
export function rateLimitKey(request: Pick<FastifyRequest, 'actor' | 'ip' | 'routeOptions'>): string {
  const actor = request.actor;
  const who = actor?.tokenId ? `token:${actor.tokenId}` : actor?.sessionId ? `session:${actor.sessionId}` : `address:${request.ip}`;
  return isBulkRoute(request.routeOptions.url) ? `${who}:bulk` : who;
}

export function limitFor(key: string, limits: RateLimits): number {
  const base = key.startsWith('address:') ? limits.perAddressPerMinute : limits.perTokenPerMinute;
  return key.endsWith(':bulk') ? base * BULK_FACTOR : base;
}

export function checkRateLimits(limits: RateLimits): RateLimits {
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 1) throw new MaestroError('validation_error', `${name} must be a whole number of requests per minute, at least 1; got ${value}`, { field: name });
  }
  return limits;
}

export async function registerRateLimits(app: FastifyInstance, limits: RateLimits): Promise<void> {
  checkRateLimits(limits);
  await app.register(rateLimit, {
    global: true,
    timeWindow: 60_000,
    keyGenerator: (request) => rateLimitKey(request),
    max: (_request, key) => limitFor(key, limits),
    errorResponseBuilder: (_request, context) =>
      new MaestroError('rate_limited', `too many requests: at most ${context.max} a minute; try again in ${context.after}`, {
        retryAfterSeconds: Math.ceil(context.ttl / 1000),
      }),
  });
}
