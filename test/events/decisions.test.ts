import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RETRY_POLICY,
  LIFECYCLE_EVENT_TYPES,
  checkWebhookEvents,
  checkWebhookUrl,
  decideDelivery,
  retryDelayMs,
  signWebhookBody,
  verifyWebhookSignature,
  type RetryPolicy,
} from '../../src/events/index.js';

const policy = fc.record({
  baseDelayMs: fc.integer({ min: 1, max: 10_000 }),
  maxDelayMs: fc.integer({ min: 10_000, max: 3_600_000 }),
  maxAttempts: fc.integer({ min: 1, max: 20 }),
}) as fc.Arbitrary<RetryPolicy>;

describe('retry decisions', () => {
  it('waits 1 s, 2 s, 4 s, 8 s, 16 s by default and dead-letters after the sixth attempt', () => {
    const failed = { statusCode: 500 };
    const outcomes = [1, 2, 3, 4, 5, 6].map((attempt) => decideDelivery(attempt, failed, DEFAULT_RETRY_POLICY));
    expect(outcomes.slice(0, 5).map((o) => (o.status === 'pending' ? o.retryInMs : o.status))).toEqual([1000, 2000, 4000, 8000, 16_000]);
    expect(outcomes[5]).toMatchObject({ status: 'dead', statusCode: 500, error: 'the receiver answered 500 (gave up after 6 attempts)' });
  });

  it('never shrinks a wait, never passes the cap, and gives up exactly at maxAttempts', () => {
    fc.assert(
      fc.property(policy, fc.integer({ min: 1, max: 60 }), fc.option(fc.integer({ min: 300, max: 599 }), { nil: undefined }), (p, attempt, statusCode) => {
        expect(retryDelayMs(attempt + 1, p)).toBeGreaterThanOrEqual(retryDelayMs(attempt, p));
        expect(retryDelayMs(attempt, p)).toBeLessThanOrEqual(p.maxDelayMs);
        const result = statusCode === undefined ? { error: 'ECONNREFUSED' } : { statusCode };
        const outcome = decideDelivery(attempt, result, p);
        expect(outcome.status).toBe(attempt >= p.maxAttempts ? 'dead' : 'pending');
      }),
    );
  });

  it('counts any 2xx as delivered, and nothing else', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 599 }), fc.integer({ min: 1, max: 10 }), (statusCode, attempt) => {
        const outcome = decideDelivery(attempt, { statusCode }, DEFAULT_RETRY_POLICY);
        expect(outcome.status === 'succeeded').toBe(statusCode >= 200 && statusCode < 300);
      }),
    );
  });
});

describe('signatures', () => {
  it('verify with the secret that signed the exact body, and with nothing else', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), fc.string(), fc.string({ minLength: 1 }), (secret, other, body, tail) => {
        const signature = signWebhookBody(secret, body);
        expect(signature).toMatch(/^sha256=[0-9a-f]{64}$/);
        expect(verifyWebhookSignature(secret, body, signature)).toBe(true);
        expect(verifyWebhookSignature(secret, body + tail, signature)).toBe(false);
        if (other !== secret) expect(verifyWebhookSignature(other, body, signature)).toBe(false);
        expect(verifyWebhookSignature(secret, body, undefined)).toBe(false);
      }),
    );
  });

  it('matches an HMAC-SHA256 computed independently (RFC 4231 test case 2)', () => {
    expect(signWebhookBody('Jefe', 'what do ya want for nothing?')).toBe('sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  });
});

describe('webhook input', () => {
  it('accepts http and https URLs only', () => {
    expect(checkWebhookUrl('https://example.com/hook?x=1')).toBe('https://example.com/hook?x=1');
    expect(checkWebhookUrl('http://127.0.0.1:9000/h')).toBe('http://127.0.0.1:9000/h');
    for (const bad of ['file:///etc/passwd', 'javascript:alert(1)', 'ws://example.com', 'example.com/hook', '']) {
      expect(() => checkWebhookUrl(bad)).toThrow(/webhook url/);
    }
  });

  it("keeps known event types, treats '*' or nothing as all, and names unknown ones", () => {
    fc.assert(
      fc.property(fc.subarray([...LIFECYCLE_EVENT_TYPES], { minLength: 1 }), (types) => {
        expect(checkWebhookEvents([...types, ...types])).toEqual(types);
        expect(checkWebhookEvents([...types, '*'])).toEqual(['*']);
      }),
    );
    expect(checkWebhookEvents([])).toEqual(['*']);
    expect(() => checkWebhookEvents(['deployment.started', 'deploy.oops'])).toThrow(/unknown event type deploy\.oops: use '\*' or any of deployment\.started/);
  });
});
