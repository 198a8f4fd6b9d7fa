/**
 * Guessing passwords is slowed and then stopped, per account and per address: a few failures are free,
 * each further one doubles the wait before the next try, and past a limit the account or address waits
 * out the whole window. Failures count within the window, and an account's only since its last success.
 */

import type { FailureCount } from '../store/index.js';

export interface ThrottleLimits {
  /** How far back failures count, and the longest wait. */
  windowMs: number;
  /** Failures before waits begin. */
  free: number;
  /** Failures after which the whole window must pass since the last one. */
  max: number;
}

export const LOGIN_LIMITS: { account: ThrottleLimits; address: ThrottleLimits } = {
  account: { windowMs: 15 * 60_000, free: 5, max: 20 },
  // One address may be a whole office behind NAT: it gets more room than one account.
  address: { windowMs: 15 * 60_000, free: 20, max: 100 },
};

export type LoginThrottle = { allowed: true } | { allowed: false; retryAfterMs: number; by: 'account' | 'address' };

/** How long after the last failure the next try must wait. */
export function waitAfter(failures: FailureCount, limits: ThrottleLimits): number {
  if (failures.count < limits.free) return 0;
  if (failures.count >= limits.max) return limits.windowMs;
  return Math.min(limits.windowMs, 1000 * 2 ** (failures.count - limits.free));
}

function retryAfter(failures: FailureCount, limits: ThrottleLimits, now: Date): number {
  if (!failures.last) return 0;
  return Math.max(0, failures.last.getTime() + waitAfter(failures, limits) - now.getTime());
}

export function decideLoginThrottle(
  input: { account: FailureCount; address: FailureCount; now: Date },
  limits: typeof LOGIN_LIMITS = LOGIN_LIMITS,
): LoginThrottle {
  const account = retryAfter(input.account, limits.account, input.now);
  const address = retryAfter(input.address, limits.address, input.now);
  if (account === 0 && address === 0) return { allowed: true };
  return account >= address ? { allowed: false, retryAfterMs: account, by: 'account' } : { allowed: false, retryAfterMs: address, by: 'address' };
}
