/**
 * After one attempt to set a commit status: delivered, try again later, or give up. The backoff and
 * budget are the outgoing webhooks' (events/retry-policy); what differs is which answers are worth
 * retrying: a provider that is down or busy (no answer, 5xx, 429, a rate-limited 403 with Retry-After)
 * is; a refusal of the request itself (a bad token, an unknown commit) will not change and dies at once.
 */
import { decideDelivery, type RetryPolicy } from '../events/index.js';
import type { DeliveryOutcome, GitHostProvider } from '../store/index.js';
import { PROVIDER_NAMES } from './providers.js';

export interface StatusAttempt {
  statusCode?: number;
  /** Why there was no answer (refused, timed out). */
  error?: string;
  /** The Retry-After header, as sent. */
  retryAfter?: string;
  /** The start of the answer's body, for the reason of a refusal. */
  body?: string;
}

/** Retry-After asks for at most this long; anything more is taken as this. */
const MAX_RETRY_AFTER_MS = 60 * 60_000;

export function decideStatusAttempt(provider: GitHostProvider, attempts: number, attempt: StatusAttempt, policy: RetryPolicy, now = Date.now()): DeliveryOutcome {
  const { statusCode } = attempt;
  const name = PROVIDER_NAMES[provider];
  if (statusCode !== undefined && statusCode >= 200 && statusCode < 300) return { status: 'succeeded', statusCode };
  const said = firstLine(attempt.body);
  // GitLab answers 400 when the status it has cannot move to the one sent (running -> running): it already shows it.
  if (provider === 'gitlab' && statusCode === 400 && /cannot transition status/i.test(attempt.body ?? '')) return { status: 'succeeded', statusCode };
  const waitMs = retryAfterMs(attempt.retryAfter, now);
  const retryable = statusCode === undefined || statusCode >= 500 || statusCode === 429 || (statusCode === 403 && waitMs !== undefined);
  if (!retryable) {
    return { status: 'dead', statusCode: statusCode!, error: `${name} answered ${statusCode}${said ? `: ${said}` : ''} (not retried: the request itself was refused)` };
  }
  const error = attempt.error ?? `${name} answered ${statusCode}${said ? `: ${said}` : ''}`;
  const outcome = decideDelivery(attempts, { ...(statusCode === undefined ? {} : { statusCode }), error }, policy);
  if (outcome.status !== 'pending' || waitMs === undefined) return outcome;
  return { ...outcome, retryInMs: Math.max(outcome.retryInMs, Math.min(waitMs, MAX_RETRY_AFTER_MS)) };
}

/** Retry-After in seconds or as an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function firstLine(body: string | undefined): string {
  return (body ?? '').split('\n').find((line) => line.trim() !== '')?.trim().slice(0, 200) ?? '';
}
