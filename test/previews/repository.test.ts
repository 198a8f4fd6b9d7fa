import { describe, expect, it } from 'vitest';
import type { NewPreview, Project, Store } from '../../src/store/index.js';
import { drivers, useStore } from '../store/harness.js';
import { rejection } from '../errors.js';

const HOUR = 3_600_000;

for (const driver of drivers) {
  describe.skipIf(!driver.enabled)(`previews and project settings on ${driver.name}`, () => {
    let store: Store;
    useStore(driver, (opened) => (store = opened));
    let counter = 0;
    const project = (): Promise<Project> => store.projects.ensure(`repo-${++counter}`);
    const branchPreview = (p: Project, branch: string, names: string[], expiresAt = new Date(Date.now() + HOUR)): NewPreview & { names: string[] } => ({
      projectId: p.id,
      kind: 'branch',
      branch,
      headSha: 'a'.repeat(40),
      origin: 'push',
      expiresAt,
      names,
    });

    describe('project settings', () => {
      it('start at production branch main, previews for 72 h, at most 10, never sleeping', async () => {
        const p = await project();
        expect(p).toMatchObject({ productionBranch: 'main', previewTtlMs: 72 * HOUR, maxPreviews: 10 });
        expect(p.previewIdleMs).toBeUndefined();
        expect(await store.projects.settings(p.id)).toEqual({ productionBranch: 'main', previewTtlMs: 72 * HOUR, maxPreviews: 10 });
      });

      it('change only what the patch names; the idle time can be set and cleared', async () => {
        const p = await project();
        const a = await store.projects.updateSettings(p.id, { productionBranch: 'trunk', previewIdleMs: 30 * 60_000 });
        expect(a).toMatchObject({ productionBranch: 'trunk', previewTtlMs: 72 * HOUR, maxPreviews: 10, previewIdleMs: 1_800_000 });
        const b = await store.projects.updateSettings(p.id, { maxPreviews: 0, previewTtlMs: HOUR });
        expect(b).toMatchObject({ productionBranch: 'trunk', previewTtlMs: HOUR, maxPreviews: 0, previewIdleMs: 1_800_000 });
        const c = await store.projects.updateSettings(p.id, { previewIdleMs: null });
        expect(c.previewIdleMs).toBeUndefined();
        expect(await store.projects.get(p.name)).toEqual(c);
      });

      it('refuse nonsense with the field named, and unknown projects', async () => {
        const p = await project();
        expect((await rejection(store.projects.updateSettings(p.id, { maxPreviews: -1 }))).message).toContain('maxPreviews must be a whole number');
        expect((await rejection(store.projects.updateSettings(p.id, { previewTtlMs: 0 }))).message).toContain('previewTtlMs must be more than 0');
        expect((await rejection(store.projects.updateSettings(p.id, { productionBranch: '' }))).message).toContain('productionBranch');
        expect((await rejection(store.projects.updateSettings('prj_nope', { maxPreviews: 1 }))).code).toBe('not_found');
        expect(await store.projects.settings('prj_nope')).toBeUndefined();
      });
    });

    describe('previews', () => {
      it('are created under the first free name and found by name, branch and pull request', async () => {
        const p = await project();
        const made = await store.previews.create(branchPreview(p, 'feat/a', ['feat-a-123456']));
        expect(made).toMatchObject({ name: 'feat-a-123456', kind: 'branch', branch: 'feat/a', state: 'active', origin: 'push' });
        expect(made!.id).toMatch(/^pvw_[a-z2-7]{12}$/);
        expect(await store.previews.getByName(p.id, 'feat-a-123456')).toEqual(made);
        expect(await store.previews.findLive(p.id, { kind: 'branch', branch: 'feat/a' })).toEqual(made);
        expect(await store.previews.findLive(p.id, { kind: 'branch', branch: 'feat/b' })).toBeUndefined();

        const pr = await store.previews.create({ projectId: p.id, kind: 'pull_request', branch: 'feat/a', prNumber: 7, origin: 'github', expiresAt: new Date(Date.now() + HOUR), names: ['pr-7'] });
        expect(pr).toMatchObject({ name: 'pr-7', prNumber: 7, kind: 'pull_request' });
        expect(pr!.headSha).toBeUndefined();
        expect(await store.previews.findLive(p.id, { kind: 'pull_request', number: 7 })).toEqual(pr);
        // A branch preview and a pull request preview of the same branch are two things.
        expect((await store.previews.findLive(p.id, { kind: 'branch', branch: 'feat/a' }))!.id).toBe(made!.id);
        expect((await store.previews.listLive(p.id)).map((x) => x.name)).toEqual(['feat-a-123456', 'pr-7']);
        expect(await store.previews.countLive(p.id)).toBe(2);
      });

      it('never give one name to two live previews: the second takes the next candidate, or none is left', async () => {
        const p = await project();
        await store.previews.create(branchPreview(p, 'one', ['same', 'same-longer']));
        const second = await store.previews.create(branchPreview(p, 'two', ['same', 'same-longer']));
        expect(second!.name).toBe('same-longer');
        expect(await store.previews.create(branchPreview(p, 'three', ['same', 'same-longer']))).toBeUndefined();
        // Another project has its own names.
        const other = await project();
        expect((await store.previews.create(branchPreview(other, 'one', ['same'])))!.name).toBe('same');
      });

      it('leave alone the name of an environment that never was a preview, but take back a destroyed preview\'s', async () => {
        const p = await project();
        await store.environments.ensure(p.id, 'staging2');
        expect((await store.previews.create(branchPreview(p, 'staging2', ['staging2', 'staging2-abcdef'])))!.name).toBe('staging2-abcdef');

        const first = await store.previews.create(branchPreview(p, 'login', ['login']));
        const environment = await store.environments.ensure(p.id, 'login');
        await store.previews.setEnvironment(first!.id, environment.id);
        await store.previews.markDestroyed(first!.id, 'closed');
        // Its environment is still there (a clean-up cut short): the name is a preview's, so it is free.
        expect(await store.previews.unfinished()).toContainEqual(expect.objectContaining({ id: first!.id }));
        const again = await store.previews.create(branchPreview(p, 'login', ['login']));
        expect(again!.name).toBe('login');
        expect(again!.id).not.toBe(first!.id);
      });

      it('move their head, expiry and state; a push leaves a sleeping one asleep for its waker', async () => {
        const p = await project();
        const made = (await store.previews.create(branchPreview(p, 'wake', ['wake'])))!;
        const later = new Date(Date.now() + 5 * HOUR);
        await store.previews.setState(made.id, 'sleeping');
        const pushed = await store.previews.updateHead(made.id, 'b'.repeat(40), later);
        expect(pushed).toMatchObject({ headSha: 'b'.repeat(40), state: 'sleeping' });
        expect(await store.previews.setState(made.id, 'active')).toMatchObject({ state: 'active' });
        expect(pushed.expiresAt.getTime()).toBe(later.getTime());

        const extended = await store.previews.extend(made.id, 24 * HOUR);
        expect(extended.expiresAt.getTime()).toBe(later.getTime() + 24 * HOUR);
        // An expiry already past is extended from now, not from the past.
        const now = new Date(later.getTime() + 100 * HOUR);
        expect((await store.previews.extend(made.id, HOUR, now)).expiresAt.getTime()).toBe(now.getTime() + HOUR);
        expect((await rejection(store.previews.extend(made.id, 0))).code).toBe('validation_error');

        const at = new Date('2030-01-01T00:00:00Z');
        await store.previews.touch(made.id, at);
        await store.previews.touch(made.id, new Date('2029-01-01T00:00:00Z'));
        expect((await store.previews.get(made.id))!.lastRequestAt).toEqual(at);
      });

      it('expire by time, and once destroyed keep their reason and free their name', async () => {
        const p = await project();
        const old = (await store.previews.create(branchPreview(p, 'old', ['old'], new Date(Date.now() - 1000))))!;
        const fresh = (await store.previews.create(branchPreview(p, 'fresh', ['fresh'])))!;
        const expired = (await store.previews.expired(new Date())).filter((x) => x.projectId === p.id);
        expect(expired.map((x) => x.id)).toEqual([old.id]);

        const destroyed = await store.previews.markDestroyed(old.id, 'expired');
        expect(destroyed).toMatchObject({ state: 'destroyed', destroyReason: 'expired' });
        expect(destroyed.destroyedAt).toBeInstanceOf(Date);
        // Idempotent: destroying again keeps the first reason.
        expect((await store.previews.markDestroyed(old.id, 'again')).destroyReason).toBe('expired');
        expect(await store.previews.getByName(p.id, 'old')).toBeUndefined();
        expect((await rejection(store.previews.updateHead(old.id, 'c'.repeat(40), new Date()))).code).toBe('not_found');
        expect((await store.previews.listLive(p.id)).map((x) => x.id)).toEqual([fresh.id]);
        expect((await store.previews.listAll({ projectId: p.id })).map((x) => x.id)).toEqual([fresh.id, old.id]);
        expect(await store.previews.namesEverUsed(p.id)).toEqual(new Set(['old', 'fresh']));
      });

      it('tell an environment\'s footprint, and which ids still exist', async () => {
        const p = await project();
        const service = await store.services.ensure(p.id, 'web');
        const environment = await store.environments.ensure(p.id, 'foot');
        const { deployment } = await store.deployments.createOrGetInProgress({
          projectId: p.id,
          serviceId: service.id,
          environmentId: environment.id,
          sourceDigest: 'f'.repeat(64),
          config: {},
        });
        const build = await store.builds.create({ deploymentId: deployment.id, sourceDigest: 'f'.repeat(64) });
        const revision = await store.revisions.create({ serviceId: service.id, environmentId: environment.id, artifactDigest: 'e'.repeat(64), config: {} });
        expect(await store.previews.footprint(environment.id)).toEqual({ deploymentIds: [deployment.id], buildIds: [build.id], revisionIds: [revision.id] });
        expect(await store.previews.ids('revisions', [revision.id, 'rev_gone'])).toEqual(new Set([revision.id]));
        expect(await store.previews.ids('builds', [])).toEqual(new Set());

        const release = await store.releases.create({ serviceId: service.id, environmentId: environment.id, revisionId: revision.id, kind: 'deploy' });
        await store.live.set(service.id, environment.id, { releaseId: release.id, revisionId: revision.id });
        await store.traffic.set({ serviceId: service.id, environmentId: environment.id, revisionId: revision.id, weight: 0 });
        await store.environments.clearServing(environment.id);
        expect(await store.live.get(service.id, environment.id)).toBeUndefined();
        expect(await store.traffic.get(service.id, environment.id)).toBeUndefined();

        expect(await store.environments.remove(environment.id)).toBe(true);
        expect(await store.environments.remove(environment.id)).toBe(false);
        expect(await store.deployments.get(deployment.id)).toBeUndefined();
        expect(await store.builds.get(build.id)).toBeUndefined();
        expect(await store.revisions.get(revision.id)).toBeUndefined();
        expect(await store.previews.footprint(environment.id)).toEqual({ deploymentIds: [], buildIds: [], revisionIds: [] });
      });

      it('refuse bad input with the field named', async () => {
        const p = await project();
        expect((await rejection(store.previews.create(branchPreview(p, 'x', ['Not A Name'])))).message).toContain('environment name "Not A Name" is not valid');
        expect((await rejection(store.previews.create(branchPreview(p, 'x', [])))).message).toContain('at least one name');
        expect((await rejection(store.previews.create({ ...branchPreview(p, 'x', ['x']), origin: 'svn' as 'push' }))).message).toContain('origin must be one of push, github, gitlab');
      });
    });
  });
}
