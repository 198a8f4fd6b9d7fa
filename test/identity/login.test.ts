import { describe, expect, it } from 'vitest';
import { LOGIN_LIMITS, authenticateSession, hashPassword, logIn } from '../../src/identity/index.js';
import { DEFAULT_ORGANISATION_ID, type Store } from '../../src/store/index.js';
import { rejection } from '../errors.js';
import { drivers, useStore } from '../store/harness.js';

const pglite = drivers[0]!;

describe('logging in', () => {
  let store: Store;
  useStore(pglite, (opened) => (store = opened));

  async function person(email: string, password?: string) {
    const user = await store.users.create({ email, ...(password ? { passwordHash: await hashPassword(password, { N: 1024, r: 8, p: 1 }) } : {}) });
    await store.memberships.set({ userId: user.id, organisationId: DEFAULT_ORGANISATION_ID, role: 'developer' });
    return user;
  }

  it('opens a session whose cookie secret and CSRF token are stored only as hashes, and records the success', async () => {
    const user = await person('ada@example.com', 'a long passphrase');
    const done = await logIn(store, { email: 'ADA@example.com', password: 'a long passphrase', address: '192.0.2.1', userAgent: 'test' });
    expect(done.user.id).toBe(user.id);
    expect(done.secret).toMatch(/^mas_/);
    expect(await store.sessions.findByHash(done.secret)).toBeUndefined();
    const { principal, session } = await authenticateSession(store, done.secret);
    expect(session.id).toBe(done.session.id);
    expect(principal).toMatchObject({ kind: 'session', name: 'ada@example.com', grants: [{ role: 'developer', organisationId: DEFAULT_ORGANISATION_ID }] });
    expect((await store.loginAttempts.recent('ada@example.com'))[0]).toMatchObject({ succeeded: true, address: '192.0.2.1' });
  });

  it('answers a wrong password, an unknown email and an account without a password alike, and records each', async () => {
    await person('grace@example.com', 'another passphrase');
    await person('sso@example.com');
    for (const [email, reason] of [
      ['grace@example.com', 'wrong_password'],
      ['nobody@example.com', 'unknown_user'],
      ['sso@example.com', 'no_password'],
    ] as const) {
      const error = await rejection(logIn(store, { email, password: 'not it at all', address: '192.0.2.2' }));
      expect(error.code).toBe('unauthorized');
      expect(error.message).toBe('the email or password is wrong');
      expect((await store.loginAttempts.recent(email))[0]).toMatchObject({ succeeded: false, reason });
    }
  });

  it('slows an account after a few failures with a Retry-After, and lets it in once the wait is over', async () => {
    await person('lin@example.com', 'the right passphrase');
    const start = Date.now();
    const at = (ms: number) => new Date(start + ms);
    for (let i = 0; i < LOGIN_LIMITS.account.free; i += 1) {
      await rejection(logIn(store, { email: 'lin@example.com', password: 'wrong guess', address: `198.51.100.${i}`, now: at(i) }));
    }
    const throttled = await rejection(logIn(store, { email: 'lin@example.com', password: 'the right passphrase', address: '198.51.100.99', now: at(10) }));
    expect(throttled.code).toBe('rate_limited');
    expect(throttled.message).toContain('too many failed logins for this account');
    expect(throttled.details).toEqual({ retryAfterSeconds: 1 });
    expect((await store.loginAttempts.recent('lin@example.com'))[0]).toMatchObject({ reason: 'throttled' });
    // Refused attempts do not count: once the wait is over, the right password gets in.
    const done = await logIn(store, { email: 'lin@example.com', password: 'the right passphrase', address: '198.51.100.99', now: at(2000) });
    expect(done.user.email).toBe('lin@example.com');
  });

  it('refuses a disabled account even with the right password, and ends its sessions', async () => {
    const user = await person('gone@example.com', 'the right passphrase');
    const done = await logIn(store, { email: 'gone@example.com', password: 'the right passphrase', address: '192.0.2.3' });
    await store.users.setDisabled(user.id, true);
    expect((await rejection(authenticateSession(store, done.secret))).message).toContain('gone@example.com, whose account is disabled');
    expect((await rejection(logIn(store, { email: 'gone@example.com', password: 'the right passphrase', address: '192.0.2.3' }))).message).toContain('is disabled');
  });
});
