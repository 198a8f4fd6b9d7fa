import type { DeliveryOutcome } from '../store/index.js';

/** How a failed delivery is retried: exponential backoff (1 s, 2 s, 4 s, ...) up to `maxAttempts`, then dead-lettered. */
export interface RetryPolicy {
  /** The wait after the first failed attempt; each later one doubles it. */
  baseDelayMs: number;
  /** No wait is longer than this. */
  maxDelayMs: number;
  /** Attempts in all, the first included. */
  maxAttempts: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { baseDelayMs: 1000, maxDelayMs: 10 * 60_000, maxAttempts: 6 };

/** What one attempt got: an HTTP status, or an error before one arrived (refused, timed out). */
export interface AttemptResult {
  statusCode?: number;
  error?: string;
}

/** The wait after failed attempt number `attempt` (1 for the first). */
export function retryDelayMs(attempt: number, policy: RetryPolicy): number {
  const exponent = Math.max(0, Math.min(attempt - 1, 40));
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exponent);
}

export const isSuccessStatus = (statusCode: number | undefined): boolean => statusCode !== undefined && statusCode >= 200 && statusCode < 300;

/** After attempt number `attempts`: delivered, try again later, or give up (dead letter). */
export function decideDelivery(attempts: number, result: AttemptResult, policy: RetryPolicy): DeliveryOutcome {
  if (isSuccessStatus(result.statusCode)) return { status: 'succeeded', statusCode: result.statusCode! };
  const error = result.error ?? `the receiver answered ${result.statusCode ?? 'nothing'}`;
  const code = result.statusCode === undefined ? {} : { statusCode: result.statusCode };
  if (attempts >= policy.maxAttempts) return { status: 'dead', error: `${error} (gave up after ${attempts} attempts)`, ...code };
  return { status: 'pending', retryInMs: retryDelayMs(attempts, policy), error, ...code };
}

export function checkRetryPolicy(policy: RetryPolicy): RetryPolicy {
  const ok = (n: number, min: number) => Number.isFinite(n) && n >= min;
  if (!ok(policy.baseDelayMs, 0) || !ok(policy.maxDelayMs, policy.baseDelayMs) || !Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1) {
    throw new RangeError(
      `retry policy needs baseDelayMs >= 0, maxDelayMs >= baseDelayMs and a whole maxAttempts >= 1, got ${JSON.stringify(policy)}`,
    );
  }
  return policy;
}
