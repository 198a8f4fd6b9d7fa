/**
 * One signed JSON POST to a receiver Maestro calls out to (webhooks, rollout gates): the same headers,
 * signature and time limit for both. No redirects are followed, everything happens within `timeoutMs`,
 * and it never throws: the outcome says what happened, without the URL (it may carry a receiver's
 * token) or the secret.
 */
import { request } from 'undici';
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signWebhookBody } from './signature.js';

export interface SignedPost {
  url: string;
  /** The exact bytes sent, and signed. */
  body: string;
  event: string;
  delivery: string;
  /** Without one, the request goes unsigned. */
  secret?: string;
  userAgent: string;
  timeoutMs: number;
  signal?: AbortSignal;
  now?: () => number;
}

export type SignedPostOutcome =
  | { kind: 'answered'; statusCode: number; body: AsyncIterable<Buffer> & { dump(options?: { limit: number }): Promise<void> } }
  | { kind: 'timed_out' }
  | { kind: 'stopped' }
  | { kind: 'unreachable'; error: string };

export async function postSigned(post: SignedPost): Promise<SignedPostOutcome> {
  const timeout = AbortSignal.timeout(post.timeoutMs);
  const signal = post.signal ? AbortSignal.any([timeout, post.signal]) : timeout;
  try {
    const response = await request(post.url, {
      method: 'POST',
      body: post.body,
      signal,
      headersTimeout: post.timeoutMs,
      bodyTimeout: post.timeoutMs,
      headers: {
        'content-type': 'application/json',
        'user-agent': post.userAgent,
        [EVENT_HEADER]: post.event,
        [DELIVERY_HEADER]: post.delivery,
        [TIMESTAMP_HEADER]: String(Math.floor((post.now ?? Date.now)() / 1000)),
        ...(post.secret === undefined ? {} : { [SIGNATURE_HEADER]: signWebhookBody(post.secret, post.body) }),
      },
    });
    return { kind: 'answered', statusCode: response.statusCode, body: response.body };
  } catch (error) {
    if (timeout.aborted) return { kind: 'timed_out' };
    if (post.signal?.aborted) return { kind: 'stopped' };
    return { kind: 'unreachable', error: describeError(error) };
  }
}

function describeError(error: unknown): string {
  const err = error as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = err.cause?.code ?? err.code;
  const message = err.cause?.message ?? err.message ?? String(error);
  return code ? `${code}: ${message}` : message;
}
