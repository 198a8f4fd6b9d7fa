import { describe, expect, it } from 'vitest';
import { DEFAULT_ORGANISATION_ID, type Store } from '../../src/store/index.js';
import { rejection } from '../errors.js';
import { drivers, useStore } from './harness.js';

for (const driver of drivers) {
  describe.skipIf(!driver.enabled)(`identity store on ${driver.name}`, () => {
    let store: Store;
    useStore(driver, (opened) => (store = opened));

    it('starts with the default organisation, which projects and tokens join when none is named', async () => {
      expect((await store.organisations.list()).map((o) => o.name)).toEqual(['default']);
      expect((await store.organisations.get(DEFAULT_ORGANISATION_ID))?.name).toBe('default');
      await store.projects.ensure('joined');
      expect(await store.projects.scope('joined')).toMatchObject({ organisationId: DEFAULT_ORGANISATION_ID });
      expect(await store.projects.scope('nothing-here')).toBeUndefined();
      const token = await store.tokens.create({ name: 'joined', hash: 'h-joined', role: 'owner' });
      expect(token.organisationId).toBe(DEFAULT_ORGANISATION_ID);
      expect(token.projectId).toBeUndefined();
    });

    describe('users', () => {
      it('keeps emails unique whatever their case, and never hands the password hash out but to a login', async () => {
        const user = await store.users.create({ email: 'Ada@Example.com', name: 'Ada', passwordHash: 'scrypt$hash-ada' });
        expect(user).toMatchObject({ email: 'Ada@Example.com', name: 'Ada', hasPassword: true });
        expect(user.id).toMatch(/^usr_/);
        expect(JSON.stringify(user)).not.toContain('hash-ada');
        expect(await store.users.findByEmail('ada@example.COM')).toEqual(user);
        const taken = await rejection(store.users.create({ email: 'ADA@example.com' }));
        expect(taken.code).toBe('conflict');
        expect(taken.message).toContain('ADA@example.com already exists');

        expect(await store.users.credentials('ada@example.com')).toEqual({ user, passwordHash: 'scrypt$hash-ada' });
        const sso = await store.users.create({ email: 'sso-only@example.com' });
        expect(sso.hasPassword).toBe(false);
        expect(await store.users.credentials('sso-only@example.com')).toEqual({ user: sso });
        expect(await store.users.credentials('nobody@example.com')).toBeUndefined();
      });

      it('refuses what cannot be an email address, saying what one looks like', async () => {
        for (const bad of ['', 'no-at-sign', 'two words@example.com', '@example.com', 'a@']) {
          const error = await rejection(store.users.create({ email: bad }));
          expect(error.code).toBe('validation_error');
          expect(error.message).toContain('name@example.com');
        }
      });

      it('disables, enables, changes passwords, and removes a user with everything that was theirs', async () => {
        const user = await store.users.create({ email: 'grace@example.com' });
        expect((await store.users.setDisabled(user.id, true)).disabledAt).toBeInstanceOf(Date);
        expect((await store.users.setDisabled(user.id, false)).disabledAt).toBeUndefined();
        await store.users.setPassword(user.id, 'scrypt$new');
        expect((await store.users.credentials(user.email))?.passwordHash).toBe('scrypt$new');
        await store.users.setPassword(user.id, undefined);
        expect((await store.users.get(user.id))?.hasPassword).toBe(false);
        expect((await rejection(store.users.setPassword('usr_missing', 'x'))).code).toBe('not_found');

        await store.memberships.set({ userId: user.id, organisationId: DEFAULT_ORGANISATION_ID, role: 'developer' });
        await store.sessions.create({ hash: 'h-grace-session', userId: user.id, csrfHash: 'c', method: 'password', expiresAt: new Date(Date.now() + 60_000) });
        await store.tokens.create({ name: 'grace-laptop', hash: 'h-grace-token', role: 'developer', userId: user.id, createdBy: user.email });
        await store.userIdentities.link({ issuer: 'https://idp.example.com', subject: 'grace', userId: user.id });

        expect(await store.users.remove(user.id)).toBe(true);
        expect(await store.users.remove(user.id)).toBe(false);
        expect(await store.memberships.forUser(user.id)).toEqual([]);
        expect(await store.sessions.findByHash('h-grace-session')).toBeUndefined();
        expect(await store.tokens.findByHash('h-grace-token')).toBeUndefined();
        expect(await store.userIdentities.find('https://idp.example.com', 'grace')).toBeUndefined();
      });
    });

    describe('memberships', () => {
      it('holds one role per scope, organisation-wide first, and goes with its project', async () => {
        const user = await store.users.create({ email: 'lin@example.com' });
        const shop = await store.projects.ensure('member-shop');
        const blog = await store.projects.ensure('member-blog');
        await store.memberships.set({ userId: user.id, organisationId: DEFAULT_ORGANISATION_ID, projectId: shop.id, role: 'viewer' });
        const changed = await store.memberships.set({ userId: user.id, organisationId: DEFAULT_ORGANISATION_ID, projectId: shop.id, role: 'admin' });
        expect(changed).toMatchObject({ projectId: shop.id, projectName: 'member-shop', role: 'admin' });
        await store.memberships.set({ userId: user.id, organisationId: DEFAULT_ORGANISATION_ID, projectId: blog.id, role: 'developer' });
        await store.memberships.set({ userId: user.id, organisationId: DEFAULT_ORGANISATION_ID, role: 'viewer' });
        expect((await store.memberships.forUser(user.id)).map((m) => [m.projectName ?? '*', m.role])).toEqual([
          ['*', 'viewer'],
          ['member-blog', 'developer'],
          ['member-shop', 'admin'],
        ]);

        expect(await store.memberships.remove({ userId: user.id, organisationId: DEFAULT_ORGANISATION_ID, projectId: blog.id })).toBe(true);
        expect(await store.memberships.remove({ userId: user.id, organisationId: DEFAULT_ORGANISATION_ID, projectId: blog.id })).toBe(false);
        await store.projects.remove('member-shop');
        expect((await store.memberships.forUser(user.id)).map((m) => m.projectName ?? '*')).toEqual(['*']);
      });

      it('refuses roles the matrix does not have, and projects that do not exist', async () => {
        const user = await store.users.create({ email: 'role-check@example.com' });
        const error = await rejection(store.memberships.set({ userId: user.id, organisationId: DEFAULT_ORGANISATION_ID, role: 'god' as 'owner' }));
        expect(error.code).toBe('validation_error');
        expect(error.message).toContain('owner, admin, developer, viewer');
        const missing = await rejection(store.memberships.set({ userId: user.id, organisationId: DEFAULT_ORGANISATION_ID, projectId: 'prj_missing', role: 'viewer' }));
        expect(missing.code).toBe('not_found');
        expect(missing.message).toContain('the project does not exist in this organisation');
      });

      it('counts the organisation-wide owners who are not disabled', async () => {
        const before = await store.memberships.activeOwners(DEFAULT_ORGANISATION_ID);
        const owner = await store.users.create({ email: 'owner-count@example.com' });
        await store.memberships.set({ userId: owner.id, organisationId: DEFAULT_ORGANISATION_ID, role: 'owner' });
        expect(await store.memberships.activeOwners(DEFAULT_ORGANISATION_ID)).toBe(before + 1);
        await store.users.setDisabled(owner.id, true);
        expect(await store.memberships.activeOwners(DEFAULT_ORGANISATION_ID)).toBe(before);
      });
    });

    describe('tokens', () => {
      it('carry their organisation, project, maker and role, and are unique by name within the organisation', async () => {
        const user = await store.users.create({ email: 'maker@example.com' });
        const project = await store.projects.ensure('token-shop');
        const token = await store.tokens.create({
          name: 'shop-ci',
          hash: 'h-shop-ci',
          role: 'developer',
          projectId: project.id,
          userId: user.id,
          createdBy: user.email,
        });
        expect(token).toMatchObject({ projectId: project.id, projectName: 'token-shop', userId: user.id, userEmail: 'maker@example.com', createdBy: user.email });
        expect(await store.tokens.findByHash('h-shop-ci')).toEqual(token);
        expect(await store.tokens.findByName('shop-ci')).toEqual(token);
        expect((await store.tokens.list({ userId: user.id })).map((t) => t.name)).toEqual(['shop-ci']);
        expect((await store.tokens.list({ organisationId: DEFAULT_ORGANISATION_ID })).map((t) => t.name)).toContain('shop-ci');

        expect((await rejection(store.tokens.create({ name: 'shop-ci', hash: 'h-other', role: 'viewer' }))).code).toBe('conflict');
        const role = await rejection(store.tokens.create({ name: 'bad-role', hash: 'h-bad-role', role: 'deployer' }));
        expect(role.message).toContain('owner, admin, developer, viewer, cache-reader, personal');
        // A personal token acts as its person, across the organisation: it needs one, and no project.
        expect((await rejection(store.tokens.create({ name: 'nobody-personal', hash: 'h-np', role: 'personal' }))).message).toContain('a personal token belongs to a person');
        const personal = await store.tokens.create({ name: 'maker-personal', hash: 'h-mp', role: 'personal', userId: user.id });
        expect(personal).toMatchObject({ role: 'personal', userId: user.id });
        const legacy = await store.tokens.create({ name: 'laptop-cache', hash: 'h-laptop-cache', role: 'cache-reader' });
        expect(legacy.role).toBe('cache-reader');

        expect(await store.tokens.revokeForUser(user.id)).toBe(2);
        expect(await store.tokens.findByHash('h-shop-ci')).toBeUndefined();
      });

      it('go with the project they are scoped to', async () => {
        const project = await store.projects.ensure('token-gone');
        await store.tokens.create({ name: 'gone-ci', hash: 'h-gone-ci', role: 'developer', projectId: project.id });
        await store.projects.remove('token-gone');
        expect(await store.tokens.findByHash('h-gone-ci')).toBeUndefined();
      });
    });

    describe('sessions', () => {
      it('are found by hash with their CSRF hash, revoked one by one or all of a user, and pruned once over', async () => {
        const user = await store.users.create({ email: 'session@example.com' });
        const expiresAt = new Date(Date.now() + 3_600_000);
        const session = await store.sessions.create({
          hash: 'h-session-1',
          userId: user.id,
          csrfHash: 'csrf-1',
          method: 'password',
          expiresAt,
          address: '192.0.2.7',
          userAgent: 'curl/8',
        });
        expect(session).toMatchObject({ userId: user.id, method: 'password', expiresAt, address: '192.0.2.7', userAgent: 'curl/8' });
        expect(session.id).toMatch(/^ses_/);
        expect(JSON.stringify(session)).not.toContain('h-session-1');
        expect(await store.sessions.findByHash('h-session-1')).toEqual({ session, csrfHash: 'csrf-1' });

        const later = new Date(session.lastSeenAt.getTime() + 60_000);
        await store.sessions.touch(session.id, later);
        expect((await store.sessions.findByHash('h-session-1'))?.session.lastSeenAt).toEqual(later);

        await store.sessions.create({ hash: 'h-session-2', userId: user.id, csrfHash: 'csrf-2', method: 'oidc', expiresAt });
        expect((await store.sessions.forUser(user.id)).length).toBe(2);
        expect(await store.sessions.revoke(session.id)).toBe(true);
        expect(await store.sessions.revoke(session.id)).toBe(false);
        expect(await store.sessions.findByHash('h-session-1')).toBeUndefined();
        expect(await store.sessions.revokeForUser(user.id)).toBe(1);
        expect(await store.sessions.forUser(user.id)).toEqual([]);

        await store.sessions.create({ hash: 'h-session-old', userId: user.id, csrfHash: 'c', method: 'password', expiresAt: new Date(Date.now() - 1000) });
        expect(await store.sessions.prune(new Date())).toBeGreaterThanOrEqual(3);
      });
    });

    describe('user identities', () => {
      it('link an issuer and subject to one user only', async () => {
        const user = await store.users.create({ email: 'linked@example.com' });
        const other = await store.users.create({ email: 'other-linked@example.com' });
        const linked = await store.userIdentities.link({ issuer: 'https://idp.example.com', subject: 'abc', userId: user.id, email: user.email });
        expect(linked).toMatchObject({ issuer: 'https://idp.example.com', subject: 'abc', userId: user.id, email: user.email });
        const taken = await rejection(store.userIdentities.link({ issuer: 'https://idp.example.com', subject: 'abc', userId: other.id }));
        expect(taken.message).toContain('already linked');
        await store.userIdentities.touch('https://idp.example.com', 'abc', 'renamed@example.com');
        expect(await store.userIdentities.find('https://idp.example.com', 'abc')).toMatchObject({ email: 'renamed@example.com', lastLoginAt: expect.any(Date) });
        expect((await store.userIdentities.forUser(user.id)).length).toBe(1);
        expect(await store.userIdentities.unlink('https://idp.example.com', 'abc')).toBe(true);
        expect(await store.userIdentities.find('https://idp.example.com', 'abc')).toBeUndefined();
      });
    });

    describe('login attempts', () => {
      it('count failures per account since its last success, and per address across accounts', async () => {
        const base = Date.now() - 30_000;
        const since = new Date(base - 30_000);
        const at = (offsetMs: number) => new Date(base + offsetMs);
        await store.loginAttempts.record({ email: 'Count@example.com', address: '198.51.100.1', succeeded: false, reason: 'wrong_password', at: at(0) });
        await store.loginAttempts.record({ email: 'count@example.com', address: '198.51.100.1', succeeded: false, reason: 'wrong_password', at: at(1) });
        await store.loginAttempts.record({ email: 'someone-else@example.com', address: '198.51.100.1', succeeded: false, reason: 'unknown_user', at: at(2) });
        let failures = await store.loginAttempts.failures({ email: 'COUNT@example.com', address: '198.51.100.1', since });
        expect(failures.account).toEqual({ count: 2, last: at(1) });
        expect(failures.address).toEqual({ count: 3, last: at(2) });

        await store.loginAttempts.record({ email: 'count@example.com', address: '198.51.100.2', succeeded: true, at: at(3) });
        await store.loginAttempts.record({ email: 'count@example.com', address: '198.51.100.1', succeeded: false, reason: 'wrong_password', at: at(4) });
        failures = await store.loginAttempts.failures({ email: 'count@example.com', address: '198.51.100.2', since });
        expect(failures.account).toEqual({ count: 1, last: at(4) });
        expect(failures.address).toEqual({ count: 0 });

        const recent = await store.loginAttempts.recent('count@example.com');
        expect(recent.map((attempt) => attempt.succeeded)).toEqual([false, true, false, false]);
        expect(recent[0]).toMatchObject({ address: '198.51.100.1', reason: 'wrong_password' });
        expect(await store.loginAttempts.prune(new Date())).toBeGreaterThanOrEqual(5);
        expect(await store.loginAttempts.recent('count@example.com')).toEqual([]);
      });
    });
  });
}
