import { request } from 'undici';
import type { ClaimedDelivery } from '../store/index.js';
import { toLifecycleEvent } from './lifecycle.js';
import type { AttemptResult } from './retry-policy.js';
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signWebhookBody } from './signature.js';

/** Receivers' answers are read only this far: we keep the status, not the body. */
const MAX_RESPONSE_BYTES = 64 * 1024;

/** The exact bytes sent (and signed): the event as GET /v1/events shows it. */
export function webhookBody(claimed: ClaimedDelivery): string {
  return JSON.stringify(toLifecycleEvent(claimed.event));
}

/**
 * One attempt: POST the signed event, no redirects followed, everything within `timeoutMs`. Never
 * throws; errors come back as text without the URL (it may carry a receiver's token) or the secret.
 */
export async function sendWebhook(claimed: ClaimedDelivery, options: { timeoutMs: number; signal?: AbortSignal; now?: () => number }): Promise<AttemptResult> {
  const body = webhookBody(claimed);
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  try {
    const response = await request(claimed.url, {
      method: 'POST',
      body,
      signal,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Maestro-Webhooks',
        [EVENT_HEADER]: claimed.event.type,
        [DELIVERY_HEADER]: claimed.delivery.id,
        [TIMESTAMP_HEADER]: String(Math.floor((options.now ?? Date.now)() / 1000)),
        [SIGNATURE_HEADER]: signWebhookBody(claimed.secret, body),
      },
    });
    await response.body.dump({ limit: MAX_RESPONSE_BYTES }).catch(() => undefined);
    return { statusCode: response.statusCode };
  } catch (error) {
    if (timeout.aborted) return { error: `no answer within ${options.timeoutMs} ms` };
    if (options.signal?.aborted) return { error: 'the dispatcher stopped before an answer came' };
    return { error: describeError(error) };
  }
}

function describeError(error: unknown): string {
  const err = error as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = err.cause?.code ?? err.code;
  const message = err.cause?.message ?? err.message ?? String(error);
  return code ? `${code}: ${message}` : message;
}
