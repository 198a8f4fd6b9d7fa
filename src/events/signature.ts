import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-maestro-signature';
export const EVENT_HEADER = 'x-maestro-event';
export const DELIVERY_HEADER = 'x-maestro-delivery';
export const TIMESTAMP_HEADER = 'x-maestro-timestamp';

/** `sha256=<hex>`: the HMAC-SHA256 of the exact body bytes, keyed with the webhook's secret. */
export function signWebhookBody(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** What a receiver does: recompute and compare in constant time. */
export function verifyWebhookSignature(secret: string, body: string | Buffer, header: string | undefined): boolean {
  if (!header) return false;
  const expected = Buffer.from(signWebhookBody(secret, body));
  const given = Buffer.from(header);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
