import { describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.js';
import { drivers, useStore } from './harness.js';

for (const driver of drivers) {
  describe.skipIf(!driver.enabled)(`job queue and build steps on ${driver.name}`, () => {
    let store: Store;
    let counter = 0;

    async function build(): Promise<{ projectId: string; buildId: string }> {
      counter += 1;
      const project = await store.projects.ensure(`queue-${counter}`);
      const service = await store.services.ensure(project.id, 'web');
      const environment = await store.environments.ensure(project.id, 'production');
      const { deployment } = await store.deployments.createOrGetInProgress({
        projectId: project.id,
        serviceId: service.id,
        environmentId: environment.id,
        sourceDigest: 'a'.repeat(64),
        config: {},
      });
      const created = await store.builds.create({ deploymentId: deployment.id, sourceDigest: 'a'.repeat(64) });
      return { projectId: project.id, buildId: created.id };
    }

    useStore(driver, (opened) => (store = opened));

    it('hands each job to exactly one of many concurrent claimers, oldest first', async () => {
      const jobs = [];
      for (let i = 0; i < 6; i += 1) {
        const { projectId, buildId } = await build();
        jobs.push(await store.jobs.enqueue({ kind: 'build', projectId, buildId }));
      }
      const claims = await Promise.all(Array.from({ length: 10 }, (_, i) => store.jobs.claim({ owner: `runner-${i}`, leaseMs: 30_000, kinds: ['build'] })));
      const claimed = claims.filter((job) => job !== undefined).map((job) => job!.id);
      expect(claimed.sort()).toEqual(jobs.map((job) => job.id).sort());
      expect(new Set(claimed).size).toBe(6);
      for (const job of claims.filter((j) => j)) await store.jobs.finish(job!.id, job!.leaseOwner!, { status: 'succeeded' });
    });

    it('keeps a per-project limit on running jobs', async () => {
      const { projectId, buildId } = await build();
      const second = await store.builds.create({ deploymentId: (await store.builds.get(buildId))!.deploymentId, sourceDigest: 'b'.repeat(64) });
      await store.jobs.enqueue({ kind: 'limited', projectId, buildId });
      await store.jobs.enqueue({ kind: 'limited', projectId, buildId: second.id });
      const first = await store.jobs.claim({ owner: 'r1', leaseMs: 30_000, kinds: ['limited'], perProjectLimit: 1 });
      expect(first).toBeDefined();
      expect(await store.jobs.claim({ owner: 'r2', leaseMs: 30_000, kinds: ['limited'], perProjectLimit: 1 })).toBeUndefined();
      await store.jobs.finish(first!.id, 'r1', { status: 'succeeded' });
      expect(await store.jobs.claim({ owner: 'r2', leaseMs: 30_000, kinds: ['limited'], perProjectLimit: 1 })).toBeDefined();
    });

    it('gives a lost lease back to the queue, and fails the job after its last attempt', async () => {
      const { projectId, buildId } = await build();
      const job = await store.jobs.enqueue({ kind: 'lease', projectId, buildId, maxAttempts: 2 });
      const first = await store.jobs.claim({ owner: 'dead-runner', leaseMs: 1, kinds: ['lease'] });
      expect(first!.attempts).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect((await store.jobs.heartbeat(job.id, 'dead-runner', 1)).held).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 20));
      const reaped = await store.jobs.reapExpired();
      expect(reaped.map((j) => [j.id, j.status])).toContainEqual([job.id, 'queued']);
      // The dead runner cannot finish what it no longer holds.
      expect(await store.jobs.finish(job.id, 'dead-runner', { status: 'succeeded' })).toBeUndefined();
      expect((await store.jobs.heartbeat(job.id, 'dead-runner', 1000)).held).toBe(false);
      const second = await store.jobs.claim({ owner: 'runner-b', leaseMs: 1, kinds: ['lease'] });
      expect(second!.attempts).toBe(2);
      await new Promise((resolve) => setTimeout(resolve, 20));
      await store.jobs.reapExpired();
      expect((await store.jobs.get(job.id))!.status).toBe('failed');
    });

    it('retries a transient failure after its backoff, and cancels queued and running jobs', async () => {
      const { projectId, buildId } = await build();
      const job = await store.jobs.enqueue({ kind: 'retry', projectId, buildId });
      const claimed = await store.jobs.claim({ owner: 'r', leaseMs: 30_000, kinds: ['retry'] });
      const retried = await store.jobs.retry(claimed!.id, 'r', { error: 'network', backoffMs: 60_000 });
      expect(retried!.status).toBe('queued');
      expect(await store.jobs.claim({ owner: 'r', leaseMs: 30_000, kinds: ['retry'] })).toBeUndefined();
      expect((await store.jobs.requestCancel(job.id))!.status).toBe('cancelled');

      const other = await build();
      const running = await store.jobs.enqueue({ kind: 'cancel', projectId: other.projectId, buildId: other.buildId });
      await store.jobs.claim({ owner: 'r', leaseMs: 30_000, kinds: ['cancel'] });
      expect((await store.jobs.requestCancel(running.id))!.status).toBe('running');
      expect(await store.jobs.heartbeat(running.id, 'r', 30_000)).toEqual({ held: true, cancelRequested: true });
      expect((await store.jobs.finish(running.id, 'r', { status: 'cancelled' }))!.status).toBe('cancelled');
    });

    it('gives back at once the jobs of a runner of ours that died, and only those', async () => {
      const a = await build();
      const b = await build();
      const mine = await store.jobs.enqueue({ kind: 'owned', projectId: a.projectId, buildId: a.buildId });
      const theirs = await store.jobs.enqueue({ kind: 'owned', projectId: b.projectId, buildId: b.buildId });
      await store.jobs.claim({ owner: 'local:/data/a:111:x', leaseMs: 60_000, kinds: ['owned'] });
      await store.jobs.claim({ owner: 'runner:elsewhere:222:y', leaseMs: 60_000, kinds: ['owned'] });
      const released = await store.jobs.releaseOwnedBy('local:/data/a:');
      expect(released.map((j) => j.id)).toEqual([mine.id]);
      expect((await store.jobs.get(mine.id))!.status).toBe('queued');
      expect((await store.jobs.get(theirs.id))!.status).toBe('running');
    });

    it('records pipeline steps once and resets an interrupted one for a resumed build', async () => {
      const { buildId } = await build();
      const plan = [{ name: 'install' as const, command: 'npm ci' }, { name: 'build' as const, command: 'npm run build' }, { name: 'package' as const }];
      await store.buildSteps.plan(buildId, plan);
      await store.buildSteps.start(buildId, 'install');
      await store.buildSteps.finish(buildId, 'install', { status: 'succeeded', exitCode: 0, cache: 'miss' });
      await store.buildSteps.start(buildId, 'build');
      await store.buildSteps.resetUnfinished(buildId);
      const steps = await store.buildSteps.plan(buildId, plan);
      expect(steps.map((s) => [s.name, s.status, s.attempt])).toEqual([
        ['install', 'succeeded', 1],
        ['build', 'pending', 1],
        ['package', 'pending', 0],
      ]);
      expect((await store.builds.recent({ limit: 1 }))[0]!.id).toBe(buildId);
    });
  });
}
