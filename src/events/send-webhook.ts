import type { ClaimedDelivery } from '../store/index.js';
import { toLifecycleEvent } from './lifecycle.js';
import type { AttemptResult } from './retry-policy.js';
import { postSigned } from './signed-post.js';

/** Receivers' answers are read only this far: we keep the status, not the body. */
const MAX_RESPONSE_BYTES = 64 * 1024;

/** The exact bytes sent (and signed): the event as GET /v1/events shows it. */
export function webhookBody(claimed: ClaimedDelivery): string {
  return JSON.stringify(toLifecycleEvent(claimed.event));
}

/** One attempt: POST the signed event (see postSigned: no redirects, within `timeoutMs`, never throws). */
export async function sendWebhook(claimed: ClaimedDelivery, options: { timeoutMs: number; signal?: AbortSignal; now?: () => number }): Promise<AttemptResult> {
  const outcome = await postSigned({
    url: claimed.url,
    body: webhookBody(claimed),
    event: claimed.event.type,
    delivery: claimed.delivery.id,
    secret: claimed.secret,
    userAgent: 'Maestro-Webhooks',
    timeoutMs: options.timeoutMs,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  switch (outcome.kind) {
    case 'answered':
      await outcome.body.dump({ limit: MAX_RESPONSE_BYTES }).catch(() => undefined);
      return { statusCode: outcome.statusCode };
    case 'timed_out':
      return { error: `no answer within ${options.timeoutMs} ms` };
    case 'stopped':
      return { error: 'the dispatcher stopped before an answer came' };
    case 'unreachable':
      return { error: outcome.error };
  }
}
