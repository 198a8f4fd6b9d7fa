import { describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.js';
import { drivers, useStore } from '../store/harness.js';

for (const driver of drivers) {
  describe.skipIf(!driver.enabled)(`project hooks, hook deliveries and commit statuses on ${driver.name}`, () => {
    let store: Store;
    useStore(driver, (opened) => (store = opened));

    it('links a project to a repository, keeps secrets unless told otherwise, and finds it by name in any case', async () => {
      const project = await store.projects.ensure('hooks-link');
      const created = await store.projectHooks.set({ projectId: project.id, provider: 'github', repository: 'Octo-Org/Shop', secret: 's'.repeat(20), statusToken: 'tok' });
      expect(created).toMatchObject({ projectName: 'hooks-link', provider: 'github', repository: 'Octo-Org/Shop', hasStatusToken: true });
      expect(created).not.toHaveProperty('secret');
      expect(created).not.toHaveProperty('statusToken');

      // Another repository name, nothing else said: the secret and token stay.
      await store.projectHooks.set({ projectId: project.id, provider: 'github', repository: 'octo-org/shop-2', statusUrl: 'http://127.0.0.1:1/api' });
      const found = await store.projectHooks.findByRepository('github', 'OCTO-ORG/SHOP-2');
      expect(found).toMatchObject({ projectId: project.id, secret: 's'.repeat(20), statusToken: 'tok', statusUrl: 'http://127.0.0.1:1/api' });
      expect(await store.projectHooks.findByRepository('github', 'octo-org/shop')).toBeUndefined();
      expect(await store.projectHooks.findByRepository('gitlab', 'octo-org/shop-2')).toBeUndefined();

      // null clears the optional settings.
      await store.projectHooks.set({ projectId: project.id, provider: 'github', repository: 'octo-org/shop-2', statusUrl: null, statusToken: null });
      expect(await store.projectHooks.get(project.id, 'github')).toMatchObject({ hasStatusToken: false });
      expect(await store.projectHooks.get(project.id, 'github')).not.toHaveProperty('statusUrl');

      const other = await store.projects.ensure('hooks-other');
      await expect(store.projectHooks.set({ projectId: other.id, provider: 'github', repository: 'Octo-Org/Shop-2', secret: 'x'.repeat(20) })).rejects.toThrow(
        /github repository Octo-Org\/Shop-2 is already linked to project hooks-link; remove that link first with `maestro hooks rm github --project hooks-link`/,
      );
      await expect(store.projectHooks.set({ projectId: other.id, provider: 'gitlab', repository: 'a/b' })).rejects.toThrow(/needs a secret/);
      await store.projectHooks.set({ projectId: other.id, provider: 'gitlab', repository: 'octo-org/shop-2', secret: 'y'.repeat(20) });
      expect((await store.projectHooks.list()).map((h) => `${h.projectName}/${h.provider}`)).toEqual(expect.arrayContaining(['hooks-link/github', 'hooks-other/gitlab']));
      expect(await store.projectHooks.list(other.id)).toHaveLength(1);
      expect(await store.projectHooks.remove(other.id, 'gitlab')).toBe(true);
      expect(await store.projectHooks.remove(other.id, 'gitlab')).toBe(false);
    });

    it('lets one of two concurrent deliveries of an id act, and a failed one act again', async () => {
      const project = await store.projects.ensure('hooks-deliveries');
      const claim = (deliveryId: string) => store.hookDeliveries.claim({ provider: 'github', deliveryId, projectId: project.id, event: 'push', staleAfterMs: 60_000 });
      const results = await Promise.all([claim('d-1'), claim('d-1'), claim('d-1')]);
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await claim('d-1')).toBe(false); // still being handled
      await store.hookDeliveries.settle('github', 'd-1', { failed: true, text: 'could not fetch' });
      expect(await store.hookDeliveries.get('github', 'd-1')).toMatchObject({ outcome: 'failed: could not fetch' });
      expect(await claim('d-1')).toBe(true); // the redelivery of a failure acts
      await store.hookDeliveries.settle('github', 'd-1', { failed: false, text: 'deployed' });
      expect(await claim('d-1')).toBe(false);
      // The same id from the other provider is another delivery.
      expect(await store.hookDeliveries.claim({ provider: 'gitlab', deliveryId: 'd-1', projectId: project.id, event: 'Push Hook', staleAfterMs: 60_000 })).toBe(true);
      // A handler that vanished without an outcome stops blocking once stale.
      expect(await claim('d-2')).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(await store.hookDeliveries.claim({ provider: 'github', deliveryId: 'd-2', projectId: project.id, event: 'push', staleAfterMs: 0 })).toBe(true);
    });

    it('hands out statuses of one commit and context in order, and records only with the current attempt', async () => {
      const project = await store.projects.ensure('hooks-statuses');
      const base = { projectId: project.id, provider: 'github' as const, repository: 'o/r', sha: 'A'.repeat(40), context: 'maestro/production' };
      const first = await store.commitStatuses.enqueue({ ...base, state: 'pending', description: 'Building' });
      const second = await store.commitStatuses.enqueue({ ...base, state: 'success', description: 'Deployed', targetUrl: 'http://x/' });
      const elsewhere = await store.commitStatuses.enqueue({ ...base, context: 'maestro/staging', state: 'pending', description: 'Building' });
      expect(first.sha).toBe('a'.repeat(40));

      const claimed = await store.commitStatuses.claimDue({ leaseMs: 60_000, limit: 10 });
      expect(claimed.map((c) => c.status.id).sort()).toEqual([first.id, elsewhere.id].sort());
      expect(claimed[0]!.hook).toBeUndefined(); // no link: the sender gives up on it
      expect(await store.commitStatuses.claimDue({ leaseMs: 60_000, limit: 10 })).toEqual([]); // the success waits for the pending

      const firstClaim = claimed.find((c) => c.status.id === first.id)!;
      expect(firstClaim.status.attempts).toBe(1);
      expect(await store.commitStatuses.record(first.id, 2, { status: 'succeeded', statusCode: 201 })).toBeUndefined(); // not our attempt
      await store.commitStatuses.record(first.id, 1, { status: 'pending', retryInMs: 0, error: 'answered 503' });
      // Retried before the success is handed out, however many times.
      const again = await store.commitStatuses.claimDue({ leaseMs: 60_000, limit: 10 });
      expect(again.map((c) => c.status.id)).toEqual([first.id]);
      expect(again[0]!.status).toMatchObject({ attempts: 2, lastError: 'answered 503' });
      await store.commitStatuses.record(first.id, 2, { status: 'dead', error: 'gave up' });
      const next = await store.commitStatuses.claimDue({ leaseMs: 60_000, limit: 10 });
      expect(next.map((c) => c.status.id)).toEqual([second.id]);
      expect(next[0]!.status).toMatchObject({ state: 'success', targetUrl: 'http://x/' });
      await store.commitStatuses.record(second.id, 1, { status: 'succeeded', statusCode: 201 });
      expect(await store.commitStatuses.get(second.id)).toMatchObject({ status: 'succeeded' });
      expect((await store.commitStatuses.list({ projectId: project.id, status: 'dead' })).map((s) => s.id)).toEqual([first.id]);
    });

    it('never hands out two statuses of one commit and context at once, however many senders claim together', async () => {
      const project = await store.projects.ensure('hooks-concurrent');
      for (let i = 0; i < 30; i += 1) {
        await store.commitStatuses.enqueue({
          projectId: project.id,
          provider: 'gitlab',
          repository: 'g/p',
          sha: String(i % 3).repeat(40),
          state: 'pending',
          context: `maestro/env-${i % 2}`,
          description: `status ${i}`,
        });
      }
      const claims = (await Promise.all([1, 2, 3, 4].map(() => store.commitStatuses.claimDue({ leaseMs: 60_000, limit: 30 })))).flat();
      const keys = claims.filter((c) => c.status.projectId === project.id).map((c) => `${c.status.sha}/${c.status.context}`);
      expect(keys.sort()).toEqual([...new Set(keys)].sort());
      expect(keys).toHaveLength(6); // 3 commits x 2 contexts, the oldest of each
    });
  });
}
