import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BULK_FACTOR, limitFor, rateLimitKey } from '../../src/api/rate-limits.js';
import { startApiHarness, type ApiHarness } from './harness.js';

describe('rate limit keys', () => {
  const request = (actor: { tokenId?: string; sessionId?: string } | undefined, url = '/v1/projects') =>
    ({ actor, ip: '192.0.2.9', routeOptions: { url } }) as unknown as Parameters<typeof rateLimitKey>[0];
  const limits = { perTokenPerMinute: 600, perAddressPerMinute: 300 };

  it("spend a token's, a session's or an address's budget, with the remote cache in a bucket of its own", () => {
    expect(rateLimitKey(request({ tokenId: 'tok_1' }))).toBe('token:tok_1');
    expect(rateLimitKey(request({ sessionId: 'ses_1' }))).toBe('session:ses_1');
    expect(rateLimitKey(request(undefined))).toBe('address:192.0.2.9');
    expect(rateLimitKey(request({ tokenId: 'tok_1' }, '/v8/artifacts/:hash'))).toBe('token:tok_1:bulk');
    expect(limitFor('token:tok_1', limits)).toBe(600);
    expect(limitFor('address:192.0.2.9', limits)).toBe(300);
    expect(limitFor('token:tok_1:bulk', limits)).toBe(600 * BULK_FACTOR);
  });
});

describe('rate limits on the API', () => {
  let harness: ApiHarness;
  beforeAll(async () => {
    harness = await startApiHarness({}, { rateLimits: { perTokenPerMinute: 5, perAddressPerMinute: 3 } });
  }, 60_000);
  afterAll(async () => harness?.close());

  it('answer 429 with Retry-After once a token has spent its minute, without touching other tokens', async () => {
    for (let i = 0; i < 5; i += 1) expect((await harness.inject({ method: 'GET', url: '/v1/projects', token: harness.tokens.viewer })).statusCode).toBe(200);
    const limited = await harness.inject({ method: 'GET', url: '/v1/projects', token: harness.tokens.viewer });
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(limited.json().error).toMatchObject({ code: 'rate_limited', message: expect.stringMatching(/^too many requests: at most 5 a minute; try again in/) });
    expect((await harness.inject({ method: 'GET', url: '/v1/projects', token: harness.tokens.developer })).statusCode).toBe(200);
    // The remote cache counts apart: a build's many cache calls do not lock its token out of the API, nor the other way round.
    expect((await harness.inject({ method: 'GET', url: '/v8/artifacts/status?slug=web', token: harness.tokens.viewer })).statusCode).toBe(200);
  });

  it('count requests without valid credentials, failed logins and guessed tokens alike, against their address', async () => {
    const address = '198.51.100.77';
    const guesses = [
      () => harness.app.inject({ method: 'GET', url: '/v1/projects', headers: { authorization: 'Bearer mae_guess-one-guess-one-guess' }, remoteAddress: address }),
      () => harness.app.inject({ method: 'GET', url: '/v1/projects', headers: { authorization: 'Bearer mae_guess-two-guess-two-guess' }, remoteAddress: address }),
      () => harness.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: 'x@example.com', password: 'nope' }, remoteAddress: address }),
    ];
    for (const guess of guesses) expect((await guess()).statusCode).toBe(401);
    const limited = await guesses[0]!();
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBeDefined();
    expect((await harness.app.inject({ method: 'GET', url: '/v1/projects', headers: { authorization: 'Bearer mae_guess-one-guess-one-guess' }, remoteAddress: '198.51.100.78' })).statusCode).toBe(401);
  });

  it("never limit health checks, nor the router's wake calls (which check the router's own secret)", async () => {
    for (let i = 0; i < 10; i += 1) {
      expect((await harness.app.inject({ method: 'GET', url: '/healthz', remoteAddress: '198.51.100.90' })).statusCode).toBe(200);
      const wake = await harness.app.inject({ method: 'POST', url: '/v1/router/wake', payload: { host: 'web.pr-1.shop.localhost' }, remoteAddress: '198.51.100.90' });
      expect(wake.statusCode).toBe(401);
    }
  });
});
