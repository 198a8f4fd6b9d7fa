import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Environment, Project, Service, Store } from '../../src/store/index.js';
import { drivers, type TestDatabase } from './harness.js';
import { rejection } from '../errors.js';

for (const driver of drivers) {
  describe.skipIf(!driver.enabled)(`store on ${driver.name}`, () => {
    let database: TestDatabase;
    let store: Store;
    // Each test works in its own project so they stay independent while sharing one store.
    let counter = 0;
    async function scope(): Promise<{ project: Project; service: Service; environment: Environment }> {
      counter += 1;
      const project = await store.projects.ensure(`app-${counter}`);
      const service = await store.services.ensure(project.id, 'web');
      const environment = await store.environments.ensure(project.id, 'production');
      return { project, service, environment };
    }

    beforeAll(async () => {
      database = await driver.create();
      store = await database.open();
    });

    afterAll(async () => {
      await store?.close();
      await database?.cleanup();
    });

    it('reports its driver', () => {
      expect(store.kind).toBe(driver.name);
    });

    describe('projects, services and environments', () => {
      it('ensure is idempotent and create refuses a taken name', async () => {
        const first = await store.projects.ensure('shop');
        const again = await store.projects.ensure('shop');
        expect(again).toEqual(first);
        expect(first.id).toMatch(/^prj_[a-z2-7]{12}$/);
        expect(first.createdAt).toBeInstanceOf(Date);
        const conflict = await rejection(store.projects.create('shop'));
        expect(conflict.code).toBe('conflict');
        expect(conflict.message).toContain('project "shop" already exists');

        const [a, b] = await Promise.all([store.services.ensure(first.id, 'api'), store.services.ensure(first.id, 'api')]);
        expect(a).toEqual(b);
        expect(a.id).toMatch(/^svc_/);
        const env = await store.environments.ensure(first.id, 'pr-12');
        expect(await store.environments.ensure(first.id, 'pr-12')).toEqual(env);
        expect(env.id).toMatch(/^env_/);
        expect((await store.services.list(first.id)).map((s) => s.name)).toEqual(['api']);
        expect(await store.environments.get(first.id, 'pr-12')).toEqual(env);
        expect(await store.services.get(first.id, 'nope')).toBeUndefined();
      });

      it('rejects names that cannot be host names, saying what a good one looks like', async () => {
        for (const bad of ['Shop', 'my_app', '-web', 'web-', '', 'a'.repeat(64)]) {
          const error = await rejection(store.projects.ensure(bad));
          expect(error.code).toBe('validation_error');
          expect(error.message).toContain('lowercase letters, digits and dashes');
        }
      });

      it('lists projects and removes one with everything under it', async () => {
        const { project, service, environment } = await scope();
        await store.deployments.createOrGetInProgress({
          projectId: project.id,
          serviceId: service.id,
          environmentId: environment.id,
          sourceDigest: 'sha256:gone',
          config: {},
        });
        expect((await store.projects.list()).map((p) => p.name)).toContain(project.name);
        expect(await store.projects.remove(project.name)).toBe(true);
        expect(await store.projects.remove(project.name)).toBe(false);
        expect(await store.projects.get(project.name)).toBeUndefined();
        expect(await store.deployments.list({ projectId: project.id })).toEqual([]);
      });

      it('refuses a service for a project that does not exist, naming the missing key', async () => {
        const error = await rejection(store.services.ensure('prj_missing', 'web'));
        expect(error.code).toBe('not_found');
        expect(error.message).toContain('project does not exist');
        expect(error.message).toContain('prj_missing');
      });
    });

    describe('sources and artifacts', () => {
      it('records blobs once and reads them back', async () => {
        await store.sources.record({ digest: 'sha256:src1', sizeBytes: 5_000_000_000 });
        await store.sources.record({ digest: 'sha256:src1', sizeBytes: 5_000_000_000 });
        expect(await store.sources.get('sha256:src1')).toMatchObject({ digest: 'sha256:src1', sizeBytes: 5_000_000_000 });
        await store.artifacts.record({ digest: 'sha256:art1', sizeBytes: 12, path: 'artifacts/ar/art1.tar' });
        expect(await store.artifacts.get('sha256:art1')).toMatchObject({ sizeBytes: 12, path: 'artifacts/ar/art1.tar' });
        expect(await store.artifacts.get('sha256:none')).toBeUndefined();
        expect((await rejection(store.sources.record({ digest: 'sha256:x', sizeBytes: -1 }))).code).toBe('validation_error');
      });
    });

    describe('deployments', () => {
      it('creates one deployment for concurrent requests with the same source', async () => {
        const { project, service, environment } = await scope();
        const input = {
          projectId: project.id,
          serviceId: service.id,
          environmentId: environment.id,
          sourceDigest: 'sha256:aaa',
          commit: 'abc123',
          config: { port: 3000, env: { NODE_ENV: 'production' } },
          createdBy: 'tok_x',
        };
        const results = await Promise.all(Array.from({ length: 5 }, () => store.deployments.createOrGetInProgress(input)));
        expect(results.filter((r) => r.created)).toHaveLength(1);
        expect(new Set(results.map((r) => r.deployment.id)).size).toBe(1);
        const [{ deployment }] = results as [(typeof results)[number]];
        expect(deployment).toMatchObject({ status: 'pending', commit: 'abc123', config: input.config, createdBy: 'tok_x' });
        expect(deployment.id).toMatch(/^dep_/);
        expect(deployment).not.toHaveProperty('finishedAt');

        // A different source is a different deployment; a finished one no longer absorbs new requests.
        const other = await store.deployments.createOrGetInProgress({ ...input, sourceDigest: 'sha256:bbb' });
        expect(other.created).toBe(true);
        await store.deployments.transition(deployment.id, 'failed', { error: 'boom' });
        const retry = await store.deployments.createOrGetInProgress(input);
        expect(retry.created).toBe(true);
        expect(retry.deployment.id).not.toBe(deployment.id);
      });

      it('enforces the state machine and stamps finishedAt on terminal states', async () => {
        const { project, service, environment } = await scope();
        const { deployment } = await store.deployments.createOrGetInProgress({
          projectId: project.id,
          serviceId: service.id,
          environmentId: environment.id,
          sourceDigest: 'sha256:sm',
          config: null,
        });
        const building = await store.deployments.transition(deployment.id, 'building');
        expect(building.status).toBe('building');
        expect(building.finishedAt).toBeUndefined();
        expect(building.updatedAt.getTime()).toBeGreaterThanOrEqual(deployment.updatedAt.getTime());
        await store.deployments.transition(deployment.id, 'deploying');
        const done = await store.deployments.transition(deployment.id, 'succeeded');
        expect(done.finishedAt).toBeInstanceOf(Date);

        const illegal = await rejection(store.deployments.transition(deployment.id, 'building'));
        expect(illegal.code).toBe('conflict');
        expect(illegal.message).toBe(`deployment ${deployment.id} is succeeded; it cannot become building`);

        const rolledBack = await store.deployments.transition(deployment.id, 'rolled_back');
        expect(rolledBack.status).toBe('rolled_back');
        expect(rolledBack.finishedAt).toEqual(done.finishedAt);
        expect((await rejection(store.deployments.transition(deployment.id, 'succeeded'))).code).toBe('conflict');
        expect((await rejection(store.deployments.transition('dep_missing', 'building'))).code).toBe('not_found');
        // @ts-expect-error a status from outside the machine, as an API body might carry it
        expect((await rejection(store.deployments.transition(deployment.id, 'exploded'))).code).toBe('validation_error');
      });

      it('lets exactly one of two racing transitions win', async () => {
        const { project, service, environment } = await scope();
        const { deployment } = await store.deployments.createOrGetInProgress({
          projectId: project.id,
          serviceId: service.id,
          environmentId: environment.id,
          sourceDigest: 'sha256:race',
          config: {},
        });
        const outcomes = await Promise.allSettled([
          store.deployments.transition(deployment.id, 'cancelled'),
          store.deployments.transition(deployment.id, 'failed', { error: 'x' }),
        ]);
        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        const final = await store.deployments.get(deployment.id);
        expect(['cancelled', 'failed']).toContain(final?.status);
      });

      it('lists newest first with filters, and finds unfinished ones for recovery', async () => {
        const { project, service, environment } = await scope();
        const staging = await store.environments.ensure(project.id, 'staging');
        const base = { projectId: project.id, serviceId: service.id, config: {} };
        const d1 = (await store.deployments.createOrGetInProgress({ ...base, environmentId: environment.id, sourceDigest: 's1' })).deployment;
        const d2 = (await store.deployments.createOrGetInProgress({ ...base, environmentId: staging.id, sourceDigest: 's2' })).deployment;
        const d3 = (await store.deployments.createOrGetInProgress({ ...base, environmentId: environment.id, sourceDigest: 's3' })).deployment;
        await store.deployments.transition(d3.id, 'cancelled');

        expect((await store.deployments.list({ projectId: project.id })).map((d) => d.id)).toEqual([d3.id, d2.id, d1.id]);
        expect((await store.deployments.list({ environmentId: staging.id })).map((d) => d.id)).toEqual([d2.id]);
        expect((await store.deployments.list({ serviceId: service.id, limit: 2 })).map((d) => d.id)).toEqual([d3.id, d2.id]);
        const unfinished = (await store.deployments.unfinished()).map((d) => d.id);
        expect(unfinished.indexOf(d1.id)).toBeLessThan(unfinished.indexOf(d2.id));
        expect(unfinished).not.toContain(d3.id);
        expect((await rejection(store.deployments.list({ limit: 0 }))).message).toContain('limit');
      });

      it('refuses a service from another project', async () => {
        const one = await scope();
        const two = await scope();
        const error = await rejection(
          store.deployments.createOrGetInProgress({
            projectId: one.project.id,
            serviceId: two.service.id,
            environmentId: one.environment.id,
            sourceDigest: 'x',
            config: {},
          }),
        );
        expect(error.code).toBe('not_found');
        expect(error.message).toContain('service does not exist in this project');
      });
    });

    describe('builds', () => {
      it('runs pending -> running -> finished once', async () => {
        const { project, service, environment } = await scope();
        const { deployment } = await store.deployments.createOrGetInProgress({
          projectId: project.id,
          serviceId: service.id,
          environmentId: environment.id,
          sourceDigest: 'sha256:b',
          config: {},
        });
        const build = await store.builds.create({ deploymentId: deployment.id, sourceDigest: 'sha256:b' });
        expect(build).toMatchObject({ status: 'pending', deploymentId: deployment.id });
        expect(build.id).toMatch(/^bld_/);
        const running = await store.builds.setStatus(build.id, 'running');
        expect(running.startedAt).toBeInstanceOf(Date);
        expect((await store.builds.setStatus(build.id, 'running')).startedAt).toEqual(running.startedAt);
        expect((await rejection(store.builds.finish(build.id, { status: 'succeeded' }))).code).toBe('validation_error');
        const finished = await store.builds.finish(build.id, { status: 'succeeded', artifactDigest: 'sha256:art' });
        expect(finished).toMatchObject({ status: 'succeeded', artifactDigest: 'sha256:art' });
        expect(finished.finishedAt).toBeInstanceOf(Date);
        const again = await rejection(store.builds.finish(build.id, { status: 'failed', error: 'late' }));
        expect(again.message).toBe(`build ${build.id} is succeeded; it cannot become failed`);
        const second = await store.builds.create({ deploymentId: deployment.id, sourceDigest: 'sha256:b' });
        expect((await store.builds.forDeployment(deployment.id)).map((b) => b.id)).toEqual([build.id, second.id]);
      });
    });

    describe('revisions, releases and what is live', () => {
      it('numbers releases 1, 2, 3 per service and environment, also when created at once', async () => {
        const { project, service, environment } = await scope();
        const api = await store.services.ensure(project.id, 'api');
        const staging = await store.environments.ensure(project.id, 'staging');
        const revision = await store.revisions.create({ serviceId: service.id, environmentId: environment.id, artifactDigest: 'a', config: {} });
        const apiRevision = await store.revisions.create({ serviceId: api.id, environmentId: environment.id, artifactDigest: 'a', config: {} });
        const stagingRevision = await store.revisions.create({ serviceId: service.id, environmentId: staging.id, artifactDigest: 'a', config: {} });

        const release = (serviceId: string, environmentId: string, revisionId: string) =>
          store.releases.create({ serviceId, environmentId, revisionId, kind: 'deploy' });
        const concurrent = await Promise.all([1, 2, 3].map(() => release(service.id, environment.id, revision.id)));
        expect(concurrent.map((r) => r.number).sort()).toEqual([1, 2, 3]);
        expect((await release(api.id, environment.id, apiRevision.id)).number).toBe(1);
        expect((await release(service.id, staging.id, stagingRevision.id)).number).toBe(1);
        expect((await release(api.id, environment.id, apiRevision.id)).number).toBe(2);

        const rollback = await store.releases.create({
          serviceId: service.id,
          environmentId: environment.id,
          revisionId: revision.id,
          kind: 'rollback',
          reason: 'error rate 12% > 5%',
        });
        expect(rollback).toMatchObject({ number: 4, kind: 'rollback', reason: 'error rate 12% > 5%' });
        expect(rollback.id).toMatch(/^rel_/);
        expect((await store.releases.list(service.id, environment.id)).map((r) => r.number)).toEqual([4, 3, 2, 1]);
        expect((await store.releases.list(service.id, environment.id, 2)).map((r) => r.number)).toEqual([4, 3]);
        expect(await store.releases.get(service.id, environment.id, 4)).toEqual(rollback);
        expect(await store.releases.get(service.id, environment.id, 99)).toBeUndefined();
      });

      it('refuses a release of a revision made for another environment', async () => {
        const { project, service, environment } = await scope();
        const staging = await store.environments.ensure(project.id, 'staging');
        const revision = await store.revisions.create({ serviceId: service.id, environmentId: staging.id, artifactDigest: 'a', config: {} });
        const error = await rejection(
          store.releases.create({ serviceId: service.id, environmentId: environment.id, revisionId: revision.id, kind: 'deploy' }),
        );
        expect(error.code).toBe('not_found');
        expect(error.message).toContain('revision does not exist for this service and environment');
      });

      it('tracks revision state and lists by state, newest first', async () => {
        const { service, environment } = await scope();
        const scopeIds = { serviceId: service.id, environmentId: environment.id };
        const r1 = await store.revisions.create({ ...scopeIds, artifactDigest: 'd1', config: { replicas: 2 } });
        const r2 = await store.revisions.create({ ...scopeIds, artifactDigest: 'd2', config: { replicas: 2 } });
        expect(r1).toMatchObject({ state: 'starting', config: { replicas: 2 } });
        expect(r1.id).toMatch(/^rev_/);
        await store.revisions.setState(r1.id, 'healthy');
        const failed = await store.revisions.setState(r2.id, 'failed', 'exited with code 1');
        expect(failed.detail).toBe('exited with code 1');
        expect((await store.revisions.list(scopeIds)).map((r) => r.id)).toEqual([r2.id, r1.id]);
        expect((await store.revisions.list({ ...scopeIds, states: ['healthy', 'warm'] })).map((r) => r.id)).toEqual([r1.id]);
        expect((await rejection(store.revisions.setState('rev_missing', 'healthy'))).code).toBe('not_found');
      });

      it('keeps one live row per service and environment, and lists routes with names', async () => {
        const { project, service, environment } = await scope();
        const ids = { serviceId: service.id, environmentId: environment.id };
        const r1 = await store.revisions.create({ ...ids, artifactDigest: 'd1', config: {} });
        const r2 = await store.revisions.create({ ...ids, artifactDigest: 'd2', config: {} });
        const rel1 = await store.releases.create({ ...ids, revisionId: r1.id, kind: 'deploy' });
        const rel2 = await store.releases.create({ ...ids, revisionId: r2.id, kind: 'deploy' });

        expect(await store.live.get(service.id, environment.id)).toBeUndefined();
        await store.live.set(service.id, environment.id, { releaseId: rel1.id, revisionId: r1.id });
        await store.live.set(service.id, environment.id, { releaseId: rel2.id, revisionId: r2.id, previousRevisionId: r1.id });
        expect(await store.live.get(service.id, environment.id)).toMatchObject({
          releaseId: rel2.id,
          revisionId: r2.id,
          previousRevisionId: r1.id,
        });
        const routes = (await store.live.list()).filter((route) => route.projectId === project.id);
        expect(routes).toEqual([
          expect.objectContaining({
            projectName: project.name,
            serviceName: 'web',
            environmentName: 'production',
            releaseNumber: 2,
            revisionId: r2.id,
          }),
        ]);

        const other = await scope();
        const error = await rejection(store.live.set(other.service.id, other.environment.id, { releaseId: rel2.id, revisionId: r2.id }));
        expect(error.code).toBe('not_found');
      });
    });

    describe('replicas', () => {
      it('upserts what the agent reports and removes it', async () => {
        const { service, environment } = await scope();
        const revision = await store.revisions.create({ serviceId: service.id, environmentId: environment.id, artifactDigest: 'd', config: {} });
        const id = `${revision.id}-0`;
        await store.replicas.upsert({ id, revisionId: revision.id, pid: 4242, port: 40001, state: 'starting' });
        const updated = await store.replicas.upsert({ id, revisionId: revision.id, pid: 4243, port: 40001, state: 'running', restarts: 1, lastError: 'oom' });
        expect(updated).toMatchObject({ pid: 4243, state: 'running', restarts: 1, lastError: 'oom' });
        expect(await store.replicas.list(revision.id)).toHaveLength(1);
        expect((await store.replicas.list()).map((r) => r.id)).toContain(id);
        expect(await store.replicas.remove(id)).toBe(true);
        expect(await store.replicas.list(revision.id)).toEqual([]);
        expect((await rejection(store.replicas.upsert({ id, revisionId: revision.id, port: -1, state: 'x' }))).code).toBe('validation_error');
      });
    });

    describe('events', () => {
      it('replays in id order from any point, optionally for one deployment', async () => {
        const start = (await store.events.listSince(0)).at(-1)?.id ?? 0;
        const a = await store.events.append({ type: 'deployment.created', deploymentId: 'dep_e1', data: { n: 1 } });
        const b = await store.events.append({ type: 'build.log', deploymentId: 'dep_e2', projectId: 'prj_e', data: 'line' });
        const c = await store.events.append({ type: 'deployment.succeeded', deploymentId: 'dep_e1', data: { n: 3 } });
        expect(a.id).toBeLessThan(b.id);
        expect(b.id).toBeLessThan(c.id);
        expect((await store.events.listSince(start)).map((e) => e.id)).toEqual([a.id, b.id, c.id]);
        expect((await store.events.listSince(a.id)).map((e) => e.type)).toEqual(['build.log', 'deployment.succeeded']);
        expect((await store.events.listSince(start, { deploymentId: 'dep_e1' })).map((e) => e.data)).toEqual([{ n: 1 }, { n: 3 }]);
        expect(await store.events.listSince(start, { limit: 1 })).toEqual([a]);
        expect(b.data).toBe('line');
        expect(b.createdAt).toBeInstanceOf(Date);
      });
    });

    describe('event order on a server', () => {
      it.skipIf(driver.name !== 'postgres')('never lets a later event become visible before an earlier one commits', async () => {
        const start = (await store.events.listSince(0)).at(-1)?.id ?? 0;
        let appended!: () => void;
        let commit!: () => void;
        const appendedInA = new Promise<void>((resolve) => (appended = resolve));
        const commitGate = new Promise<void>((resolve) => (commit = resolve));
        const a = store.transaction(async (tx) => {
          const event = await tx.events.append({ type: 'slow', data: {} });
          appended();
          await commitGate;
          return event;
        });
        await appendedInA;
        const b = store.events.append({ type: 'fast', data: {} });
        await new Promise((resolve) => setTimeout(resolve, 150));
        // A reader now must not see "fast" yet: it would move past "slow" and never replay it.
        expect(await store.events.listSince(start)).toEqual([]);
        commit();
        const [slow, fast] = await Promise.all([a, b]);
        expect(slow.id).toBeLessThan(fast.id);
        expect((await store.events.listSince(start)).map((e) => e.type)).toEqual(['slow', 'fast']);
      });
    });

    describe('tokens', () => {
      it('finds a token by hash, never hands the hash back, and forgets revoked ones', async () => {
        const expiresAt = new Date('2031-01-02T03:04:05.000Z');
        const token = await store.tokens.create({ name: 'ci', hash: 'h-ci', role: 'developer', expiresAt });
        expect(token).toMatchObject({ name: 'ci', role: 'developer', expiresAt });
        expect(token.id).toMatch(/^tok_/);
        expect(JSON.stringify(token)).not.toContain('h-ci');
        expect(await store.tokens.findByHash('h-ci')).toEqual(token);
        expect(await store.tokens.findByHash('h-other')).toBeUndefined();

        const taken = await rejection(store.tokens.create({ name: 'ci', hash: 'h-ci-2', role: 'viewer' }));
        expect(taken.code).toBe('conflict');
        expect(taken.message).toContain('a token with this name already exists');
        const sameHash = await rejection(store.tokens.create({ name: 'ci-2', hash: 'h-ci', role: 'viewer' }));
        expect(sameHash.message).not.toContain('h-ci');

        await store.tokens.touch(token.id);
        expect((await store.tokens.findByHash('h-ci'))?.lastUsedAt).toBeInstanceOf(Date);
        expect((await store.tokens.list()).map((t) => t.name)).toContain('ci');
        expect(await store.tokens.revoke('ci')).toBe(true);
        expect(await store.tokens.revoke('ci')).toBe(false);
        expect(await store.tokens.findByHash('h-ci')).toBeUndefined();
        expect((await store.tokens.list()).map((t) => t.name)).not.toContain('ci');
        // The name is free again once revoked.
        await store.tokens.create({ name: 'ci', hash: 'h-ci-3', role: 'developer' });
      });
    });

    describe('settings', () => {
      it('stores JSON values of any shape', async () => {
        expect(await store.settings.get('router.port')).toBeUndefined();
        await store.settings.set('router.port', 8080);
        await store.settings.set('router.port', 8081);
        await store.settings.set('greeting', 'hello');
        await store.settings.set('nested', { a: [1, { b: null }] });
        expect(await store.settings.get('router.port')).toBe(8081);
        expect(await store.settings.get('greeting')).toBe('hello');
        expect(await store.settings.get('nested')).toEqual({ a: [1, { b: null }] });
        expect((await rejection(store.settings.set('x', undefined))).code).toBe('validation_error');
      });
    });

    describe('transactions', () => {
      it('commits together or not at all', async () => {
        const failing = store.transaction(async (tx) => {
          await tx.projects.create('tx-rolled-back');
          await tx.settings.set('tx-key', 1);
          throw new Error('changed my mind');
        });
        await expect(failing).rejects.toThrow('changed my mind');
        expect(await store.projects.get('tx-rolled-back')).toBeUndefined();
        expect(await store.settings.get('tx-key')).toBeUndefined();

        const project = await store.transaction(async (tx) => {
          const created = await tx.projects.create('tx-committed');
          // Nested calls join the same transaction.
          await tx.transaction((inner) => inner.services.ensure(created.id, 'web'));
          return created;
        });
        expect(await store.services.get(project.id, 'web')).toBeDefined();
      });

      it('refuses the outer store inside a transaction instead of hanging or escaping it', async () => {
        const misuse = store.transaction(async (tx) => {
          await tx.projects.ensure('tx-inner');
          await store.projects.ensure('tx-outer');
        });
        await expect(misuse).rejects.toThrow('use the transaction store passed to the callback');
        expect(await store.projects.get('tx-inner')).toBeUndefined();
        expect(await store.projects.get('tx-outer')).toBeUndefined();
      });

      it('keeps working after a failed statement inside a transaction is rolled back', async () => {
        await expect(store.transaction((tx) => tx.projects.create('Bad Name'))).rejects.toThrow('lowercase');
        await expect(store.transaction((tx) => tx.services.ensure('prj_nope', 'web'))).rejects.toThrow('project does not exist');
        expect(await store.projects.ensure('after-failure')).toBeDefined();
      });
    });

    describe('reopening', () => {
      it('finds the data again, with migrations already applied', async () => {
        await store.projects.ensure('survives-reopen');
        await store.close();
        store = await database.open();
        expect(await store.projects.get('survives-reopen')).toBeDefined();
      });
    });
  });
}
