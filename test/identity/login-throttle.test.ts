import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LOGIN_LIMITS, decideLoginThrottle, waitAfter } from '../../src/identity/index.js';

const now = new Date('2030-01-01T12:00:00Z');
const ago = (ms: number) => new Date(now.getTime() - ms);
const none = { count: 0 };

describe('login throttling', () => {
  it('lets the first few failures through, then doubles the wait, then locks for the window', () => {
    const { account } = LOGIN_LIMITS;
    expect(waitAfter({ count: account.free - 1 }, account)).toBe(0);
    expect(waitAfter({ count: account.free }, account)).toBe(1000);
    expect(waitAfter({ count: account.free + 1 }, account)).toBe(2000);
    expect(waitAfter({ count: account.free + 3 }, account)).toBe(8000);
    expect(waitAfter({ count: account.max }, account)).toBe(account.windowMs);
  });

  it('refuses an account that failed too often just now, saying how long to wait', () => {
    const decision = decideLoginThrottle({ account: { count: LOGIN_LIMITS.account.free + 2, last: ago(1000) }, address: none, now });
    expect(decision).toEqual({ allowed: false, retryAfterMs: 3000, by: 'account' });
    expect(decideLoginThrottle({ account: { count: LOGIN_LIMITS.account.free + 2, last: ago(4000) }, address: none, now })).toEqual({ allowed: true });
  });

  it('limits an address across accounts, independently of any one account', () => {
    const decision = decideLoginThrottle({ account: none, address: { count: LOGIN_LIMITS.address.max, last: ago(60_000) }, now });
    expect(decision).toEqual({ allowed: false, retryAfterMs: LOGIN_LIMITS.address.windowMs - 60_000, by: 'address' });
  });

  it('never waits longer than the window, and more failures never wait less', () => {
    fc.assert(
      fc.property(fc.nat(500), fc.nat(500), fc.nat(LOGIN_LIMITS.account.windowMs * 2), (a, b, sinceLast) => {
        const [fewer, more] = a <= b ? [a, b] : [b, a];
        const limits = LOGIN_LIMITS.account;
        expect(waitAfter({ count: fewer }, limits)).toBeLessThanOrEqual(waitAfter({ count: more }, limits));
        const decision = decideLoginThrottle({ account: { count: more, last: ago(sinceLast) }, address: none, now });
        if (!decision.allowed) {
          expect(decision.retryAfterMs).toBeGreaterThan(0);
          expect(decision.retryAfterMs).toBeLessThanOrEqual(limits.windowMs);
          expect(sinceLast + decision.retryAfterMs).toBe(waitAfter({ count: more }, limits));
        } else {
          expect(sinceLast).toBeGreaterThanOrEqual(waitAfter({ count: more }, limits));
        }
      }),
    );
  });
});
