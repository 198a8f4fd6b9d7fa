/**
 * Console sessions, tokens and users through the API: what a login sets, what a cookie may do without
 * its CSRF token, who may mint which token, and the reasons sensitive operations need.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOGIN_LIMITS, hashPassword, type Role } from '../../src/identity/index.js';
import { DEFAULT_ORGANISATION_ID } from '../../src/store/index.js';
import { startApiHarness, type ApiHarness } from './harness.js';

const PASSWORD = 'correct horse battery staple';

describe('identity over the API', () => {
  let harness: ApiHarness;
  beforeAll(async () => {
    harness = await startApiHarness();
    await harness.maestro.store.projects.ensure('shop');
    await harness.maestro.store.projects.ensure('blog');
  }, 60_000);
  afterAll(async () => harness?.close());

  async function person(email: string, role: Role, project?: string): Promise<void> {
    const { store } = harness.maestro;
    const user = await store.users.create({ email, passwordHash: await hashPassword(PASSWORD, { N: 1024, r: 8, p: 1 }) });
    const projectId = project ? (await store.projects.get(project))!.id : undefined;
    await store.memberships.set({ userId: user.id, organisationId: DEFAULT_ORGANISATION_ID, role, ...(projectId ? { projectId } : {}) });
  }

  async function login(email: string, address = '203.0.113.1'): Promise<{ answer: LightMyRequestResponse; cookie: string; csrf: string }> {
    const answer = await harness.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password: PASSWORD }, remoteAddress: address });
    const cookie = answer.cookies.find((c) => c.name === 'maestro_session')?.value ?? '';
    return { answer, cookie, csrf: answer.statusCode === 200 ? answer.json().csrfToken : '' };
  }

  describe('sessions', () => {
    it('sets an HTTP-only, SameSite=Lax session cookie (not Secure over plain http) and answers a CSRF token', async () => {
      await person('ada@example.com', 'developer');
      const { answer, cookie, csrf } = await login('ada@example.com');
      expect(answer.statusCode).toBe(200);
      const setCookie = String(answer.headers['set-cookie']);
      expect(setCookie).toMatch(/^maestro_session=mas_[A-Za-z0-9_-]+;/);
      expect(setCookie).toContain('HttpOnly');
      expect(setCookie).toContain('SameSite=Lax');
      expect(setCookie).toContain('Path=/');
      expect(setCookie).not.toContain('Secure');
      expect(cookie).toMatch(/^mas_/);
      expect(csrf.length).toBeGreaterThan(30);
      expect(answer.json().user.email).toBe('ada@example.com');
    });

    it('lets a cookie read, but change nothing without the CSRF token', async () => {
      const { cookie, csrf } = await login('ada@example.com');
      const me = await harness.inject({ method: 'GET', url: '/v1/me', cookies: { maestro_session: cookie } });
      expect(me.statusCode).toBe(200);
      expect(me.json()).toMatchObject({ kind: 'session', name: 'ada@example.com', role: 'developer', grants: [{ role: 'developer', scope: 'organisation', project: null }] });
      expect(me.json().permissions.organisation).toContain('deploy:staging');
      expect(me.json().permissions.organisation).not.toContain('deploy:production');

      const forged = await harness.inject({ method: 'POST', url: '/v1/projects', payload: { name: 'by-forgery' }, cookies: { maestro_session: cookie } });
      expect(forged.statusCode).toBe(403);
      expect(forged.json().error.message).toContain('x-csrf-token header is missing or is not this session');
      const wrong = await harness.inject({ method: 'POST', url: '/v1/projects', payload: { name: 'by-forgery' }, cookies: { maestro_session: cookie }, headers: { 'x-csrf-token': 'guess' } });
      expect(wrong.statusCode).toBe(403);
      expect(await harness.maestro.store.projects.get('by-forgery')).toBeUndefined();

      const made = await harness.inject({ method: 'POST', url: '/v1/projects', payload: { name: 'by-session' }, cookies: { maestro_session: cookie }, headers: { 'x-csrf-token': csrf } });
      expect(made.statusCode).toBe(201);
    });

    it('ends at logout: the session is revoked and its cookie cleared', async () => {
      const { cookie } = await login('ada@example.com');
      const out = await harness.inject({ method: 'POST', url: '/v1/auth/logout', cookies: { maestro_session: cookie } });
      expect(out.json()).toEqual({ loggedOut: true });
      expect(String(out.headers['set-cookie'])).toMatch(/^maestro_session=;.*Expires=Thu, 01 Jan 1970/);
      const after = await harness.inject({ method: 'GET', url: '/v1/me', cookies: { maestro_session: cookie } });
      expect(after.statusCode).toBe(401);
      expect(after.json().error.message).toContain('log in again');
    });

    it('slows guessing with 429 and Retry-After, records every failure, and never says which part was wrong', async () => {
      await person('target@example.com', 'viewer');
      const guess = (address: string) =>
        harness.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: 'target@example.com', password: 'wrong guess' }, remoteAddress: address });
      for (let i = 0; i < LOGIN_LIMITS.account.free; i += 1) {
        const answer = await guess(`198.51.100.${i}`);
        expect(answer.statusCode).toBe(401);
        expect(answer.json().error.message).toBe('the email or password is wrong');
      }
      const throttled = await guess('198.51.100.200');
      expect(throttled.statusCode).toBe(429);
      expect(Number(throttled.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(throttled.json().error).toMatchObject({ code: 'rate_limited', message: expect.stringContaining('too many failed logins for this account') });
      // The right password waits too, until the wait is over.
      expect((await login('target@example.com', '198.51.100.201')).answer.statusCode).toBe(429);
      const recorded = await harness.maestro.store.loginAttempts.recent('target@example.com', 50);
      expect(recorded.filter((attempt) => attempt.reason === 'wrong_password')).toHaveLength(LOGIN_LIMITS.account.free);
      expect(recorded.filter((attempt) => attempt.reason === 'throttled')).toHaveLength(2);
    });
  });

  describe('tokens', () => {
    it('are made with at most what the maker holds, listed without secrets, and stop working when revoked', async () => {
      const developer = await harness.token('dev-maker', 'developer');
      const tooMuch = await harness.inject({ method: 'POST', url: '/v1/tokens', token: developer, payload: { name: 'wants-admin', role: 'admin' } });
      expect(tooMuch.statusCode).toBe(403);
      expect(tooMuch.json().error.message).toBe(
        'a token with role admin across the organisation would hold project:delete, deploy:production, secrets:read, policy:waive, audit:view, which token "dev-maker" does not hold there: pick a lower role or a project you hold more on',
      );

      const made = await harness.inject({ method: 'POST', url: '/v1/tokens', token: developer, payload: { name: 'ci-shop', role: 'developer', project: 'shop', expires: '30d' } });
      expect(made.statusCode).toBe(201);
      const { token, secret } = made.json();
      expect(secret).toMatch(/^mae_/);
      expect(token).toMatchObject({ name: 'ci-shop', role: 'developer', scope: 'project', project: 'shop', createdBy: 'dev-maker', owner: null });
      expect(new Date(token.expiresAt).getTime()).toBeGreaterThan(Date.now() + 29 * 86_400_000);

      const listed = await harness.inject({ method: 'GET', url: '/v1/tokens', token: harness.tokens.owner });
      expect(listed.body).not.toContain(secret);
      expect(listed.json().tokens.map((t: { name: string }) => t.name)).toEqual(expect.arrayContaining(['ci-shop', 'every-owner']));
      // Without org:manage, a machine token sees itself only.
      expect((await harness.inject({ method: 'GET', url: '/v1/tokens', token: developer })).json().tokens.map((t: { name: string }) => t.name)).toEqual(['dev-maker']);

      const scoped = await harness.inject({ method: 'POST', url: '/v1/projects/blog/deployments', token: secret, payload: {} });
      expect(scoped.statusCode).toBe(403);
      expect(scoped.json().error.message).toBe('deploy:production is needed on project blog; token "ci-shop" has role developer on project shop');

      const notYours = await harness.inject({ method: 'DELETE', url: '/v1/tokens/ci-shop', token: harness.tokens.viewer });
      expect(notYours.statusCode).toBe(403);
      expect(notYours.json().error.message).toContain('org:manage is needed to revoke token "ci-shop"');
      expect((await harness.inject({ method: 'DELETE', url: '/v1/tokens/ci-shop', token: harness.tokens.owner })).json()).toEqual({ revoked: 'ci-shop' });
      const revoked = await harness.inject({ method: 'GET', url: '/v1/projects/shop', token: secret });
      expect(revoked.statusCode).toBe(401);
    });

    it("made by a person are theirs: capped by what they hold now, and gone with them", async () => {
      await person('maker@example.com', 'admin');
      const { cookie, csrf } = await login('maker@example.com', '203.0.113.9');
      const session = { cookies: { maestro_session: cookie }, headers: { 'x-csrf-token': csrf } };
      const made = await harness.inject({ method: 'POST', url: '/v1/tokens', ...session, payload: { name: 'maker-admin', role: 'admin' } });
      expect(made.statusCode).toBe(201);
      expect(made.json().token.owner).toBe('maker@example.com');
      const personal = await harness.inject({ method: 'POST', url: '/v1/tokens', ...session, payload: { name: 'maker-cli', role: 'personal' } });
      expect(personal.statusCode).toBe(201);
      const adminToken = made.json().secret as string;
      const personalToken = personal.json().secret as string;
      expect((await harness.inject({ method: 'GET', url: '/v1/me', token: personalToken })).json()).toMatchObject({ kind: 'token', role: 'admin', user: { email: 'maker@example.com' } });

      // Demoted: both tokens now do only what a viewer does.
      await harness.inject({ method: 'PUT', url: '/v1/users/maker@example.com/role', token: harness.tokens.owner, payload: { role: 'viewer' } });
      const capped = await harness.inject({ method: 'POST', url: '/v1/projects', token: adminToken, payload: { name: 'capped' } });
      expect(capped.statusCode).toBe(403);
      expect(capped.json().error.message).toBe(
        'project:create is needed across the organisation; token "maker-admin" has role admin across the organisation, but it was made by maker@example.com, who has role viewer across the organisation',
      );
      expect((await harness.inject({ method: 'POST', url: '/v1/projects', token: personalToken, payload: { name: 'capped' } })).statusCode).toBe(403);
      expect((await harness.inject({ method: 'GET', url: '/v1/projects/shop', token: personalToken })).statusCode).toBe(200);

      expect((await harness.inject({ method: 'DELETE', url: '/v1/users/maker@example.com', token: harness.tokens.owner })).statusCode).toBe(200);
      for (const gone of [adminToken, personalToken]) expect((await harness.inject({ method: 'GET', url: '/v1/projects/shop', token: gone })).statusCode).toBe(401);
    });

    it('refuse a personal token to a machine, which has no person to act as', async () => {
      const answer = await harness.inject({ method: 'POST', url: '/v1/tokens', token: harness.tokens.owner, payload: { name: 'machine-personal', role: 'personal' } });
      expect(answer.statusCode).toBe(400);
      expect(answer.json().error.message).toContain('only a person can make a personal token');
    });
  });

  describe('users', () => {
    it('are managed by owners only, keep their last owner, and take project roles', async () => {
      const refused = await harness.inject({ method: 'GET', url: '/v1/users', token: harness.tokens.admin });
      expect(refused.statusCode).toBe(403);
      expect(refused.json().error.message).toBe('org:manage is needed across the organisation; token "every-admin" has role admin across the organisation');

      const added = await harness.inject({ method: 'POST', url: '/v1/users', token: harness.tokens.owner, payload: { email: 'Lin@Example.com', role: 'viewer', project: 'shop', password: 'a long enough one' } });
      expect(added.statusCode).toBe(201);
      expect(added.json()).toMatchObject({ created: true, user: { email: 'Lin@Example.com', hasPassword: true, memberships: [{ role: 'viewer', scope: 'project', project: 'shop' }] } });
      const weak = await harness.inject({ method: 'POST', url: '/v1/users', token: harness.tokens.owner, payload: { email: 'weak@example.com', role: 'viewer', password: 'short' } });
      expect(weak.statusCode).toBe(400);
      expect(weak.json().error.message).toContain('at least 10 characters');

      const more = await harness.inject({ method: 'PUT', url: '/v1/users/lin@example.com/role', token: harness.tokens.owner, payload: { role: 'developer', project: 'blog' } });
      expect(more.json().user.memberships).toEqual([
        { role: 'developer', scope: 'project', project: 'blog' },
        { role: 'viewer', scope: 'project', project: 'shop' },
      ]);
      const none = await harness.inject({ method: 'PUT', url: '/v1/users/lin@example.com/role', token: harness.tokens.owner, payload: { role: 'none', project: 'shop' } });
      expect(none.json().user.memberships).toEqual([{ role: 'developer', scope: 'project', project: 'blog' }]);

      await person('only-owner@example.com', 'owner');
      const owners = await harness.maestro.store.memberships.activeOwners(DEFAULT_ORGANISATION_ID);
      expect(owners).toBe(1);
      const last = await harness.inject({ method: 'DELETE', url: '/v1/users/only-owner@example.com', token: harness.tokens.owner });
      expect(last.statusCode).toBe(409);
      expect(last.json().error.message).toContain("only-owner@example.com is the organisation's last owner");
      const demote = await harness.inject({ method: 'PUT', url: '/v1/users/only-owner@example.com/role', token: harness.tokens.owner, payload: { role: 'admin' } });
      expect(demote.statusCode).toBe(409);

      const listed = await harness.inject({ method: 'GET', url: '/v1/users', token: harness.tokens.owner });
      expect(listed.json().users.map((u: { email: string }) => u.email)).toEqual(expect.arrayContaining(['Lin@Example.com', 'only-owner@example.com']));
      expect(listed.body).not.toMatch(/scrypt|password_hash/);
    });
  });

  describe('reasons', () => {
    it("are needed from a person deploying to production by hand, in the body or the x-maestro-reason header", async () => {
      await person('deployer@example.com', 'owner');
      const { cookie, csrf } = await login('deployer@example.com', '203.0.113.20');
      const session = { cookies: { maestro_session: cookie }, headers: { 'x-csrf-token': csrf } };
      const bare = await harness.inject({ method: 'POST', url: '/v1/projects/shop/deployments', ...session, payload: { source: '0'.repeat(64) } });
      expect(bare.statusCode).toBe(400);
      expect(bare.json().error.message).toBe('deploy:production on project shop needs a reason: pass --reason "why" (the API takes `reason` in the body or the x-maestro-reason header)');
      const staging = await harness.inject({ method: 'POST', url: '/v1/projects/shop/deployments', ...session, payload: { source: '0'.repeat(64), environment: 'staging' } });
      expect(staging.json().error.message).toContain('no uploaded source');
      const inBody = await harness.inject({ method: 'POST', url: '/v1/projects/shop/deployments', ...session, payload: { source: '0'.repeat(64), reason: 'hotfix' } });
      expect(inBody.json().error.message).toContain('no uploaded source');
      const inHeader = await harness.inject({
        method: 'POST',
        url: '/v1/projects/shop/deployments',
        cookies: session.cookies,
        headers: { ...session.headers, 'x-maestro-reason': 'hotfix' },
        payload: { source: '0'.repeat(64) },
      });
      expect(inHeader.json().error.message).toContain('no uploaded source');
      // A machine's token is the pipeline: no reason asked.
      const machine = await harness.inject({ method: 'POST', url: '/v1/projects/shop/deployments', token: harness.tokens.owner, payload: { source: '0'.repeat(64) } });
      expect(machine.json().error.message).toContain('no uploaded source');
    });

    it('are needed to waive a policy, whoever asks', async () => {
      const answer = await harness.inject({ method: 'POST', url: '/v1/projects/shop/waivers', token: harness.tokens.owner, payload: { policy: 'tests-passed', for: '1h' } });
      expect(answer.statusCode).toBe(400);
      expect(answer.json().error.message).toContain('policy:waive on project shop needs a reason: pass --reason');
    });
  });
});
