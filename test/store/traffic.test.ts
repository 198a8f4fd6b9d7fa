import { describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.js';
import { drivers, useStore } from './harness.js';

for (const driver of drivers) {
  describe.skipIf(!driver.enabled)(`traffic shifts and rollout requests on ${driver.name}`, () => {
    let store: Store;
    useStore(driver, (opened) => (store = opened));

    it('keeps one shift per service and environment, and takes requests only while a deployment is in progress', async () => {
      const project = await store.projects.ensure('traffic');
      const service = await store.services.ensure(project.id, 'web');
      const environment = await store.environments.ensure(project.id, 'production');
      const revision = await store.revisions.create({ serviceId: service.id, environmentId: environment.id, artifactDigest: 'd'.repeat(64), config: {} });
      await store.traffic.set({ serviceId: service.id, environmentId: environment.id, revisionId: revision.id, weight: 10 });
      await store.traffic.set({ serviceId: service.id, environmentId: environment.id, revisionId: revision.id, weight: 50, preview: true });
      expect(await store.traffic.get(service.id, environment.id)).toMatchObject({ revisionId: revision.id, weight: 50, preview: true });
      expect(await store.traffic.list()).toHaveLength(1);
      await expect(store.traffic.set({ serviceId: service.id, environmentId: environment.id, revisionId: revision.id, weight: 101 })).rejects.toThrow();
      await store.traffic.clear(service.id, environment.id);
      expect(await store.traffic.get(service.id, environment.id)).toBeUndefined();

      const { deployment } = await store.deployments.createOrGetInProgress({
        projectId: project.id,
        serviceId: service.id,
        environmentId: environment.id,
        sourceDigest: 'e'.repeat(64),
        config: {},
      });
      expect(await store.deployments.requestRollout(deployment.id, { promote: true })).toBe(true);
      expect(await store.deployments.requestRollout(deployment.id, { abort: true, reason: 'bad' })).toBe(true);
      expect((await store.deployments.get(deployment.id))!.rolloutRequests).toEqual({ promote: true, abort: true, reason: 'bad' });
      await store.deployments.saveRolloutState(deployment.id, { phase: 'progressing', step: 2 });
      await store.deployments.clearRolloutRequests(deployment.id);
      expect(await store.deployments.get(deployment.id)).toMatchObject({ rolloutRequests: {}, rolloutState: { phase: 'progressing', step: 2 } });
      await store.deployments.transition(deployment.id, 'failed', { error: 'x' });
      expect(await store.deployments.requestRollout(deployment.id, { abort: true })).toBe(false);
    });
  });
}
