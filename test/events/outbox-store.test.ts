import { describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.js';
import { drivers, useStore } from '../store/harness.js';

const TYPES = ['deployment.started', 'deployment.succeeded', 'deployment.failed'];

for (const driver of drivers) {
  describe.skipIf(!driver.enabled)(`lifecycle outbox on ${driver.name}`, () => {
    let store: Store;

    useStore(driver, (opened) => (store = opened));

    it('queues one delivery per matching webhook with the event, by type and by project', async () => {
      const alpha = await store.projects.ensure('outbox-alpha');
      const beta = await store.projects.ensure('outbox-beta');
      const all = await store.webhooks.create({ url: 'http://127.0.0.1:1/all', events: ['*'], secret: 's1' });
      const failures = await store.webhooks.create({ url: 'http://127.0.0.1:1/f', events: ['deployment.failed'], secret: 's2' });
      const betaOnly = await store.webhooks.create({ url: 'http://127.0.0.1:1/b', events: ['*'], projectId: beta.id, secret: 's3' });

      const started = await store.lifecycle.record({ type: 'deployment.started', projectId: alpha.id, deploymentId: 'dep_a', actor: 'ada' });
      expect(started.deliveries).toBe(1);
      const failed = await store.lifecycle.record({ type: 'deployment.failed', projectId: beta.id, reason: 'health check', data: { step: 3 } });
      expect(failed.deliveries).toBe(3);
      expect(failed.event).toMatchObject({ type: 'deployment.failed', projectId: beta.id, reason: 'health check', data: { step: 3 } });

      const forAll = await store.deliveries.list({ webhookId: all.id });
      expect(forAll.map((d) => d.eventId).sort()).toEqual([started.event.id, failed.event.id].sort());
      expect((await store.deliveries.list({ webhookId: failures.id })).map((d) => d.eventType)).toEqual(['deployment.failed']);
      expect((await store.deliveries.list({ webhookId: betaOnly.id })).map((d) => d.eventId)).toEqual([failed.event.id]);
      expect(forAll.every((d) => d.status === 'pending' && d.attempts === 0)).toBe(true);

      // The secret never leaves the store except to the dispatcher that signs with it.
      expect(JSON.stringify(await store.webhooks.list())).not.toContain('s1');
      for (const hook of [all, failures, betaOnly]) expect(await store.webhooks.remove(hook.id)).toBe(true);
      expect(await store.deliveries.list({})).toEqual([]);
    });

    it('lists lifecycle events by type, project and deployment, with a cursor, never deployment log lines', async () => {
      const project = await store.projects.ensure('outbox-list');
      await store.events.append({ type: 'log', deploymentId: 'dep_l', projectId: project.id, data: { line: 'hello' } });
      const ids: number[] = [];
      for (let i = 0; i < 5; i += 1) {
        const { event } = await store.lifecycle.record({ type: TYPES[i % 2]!, projectId: project.id, deploymentId: i < 3 ? 'dep_l' : 'dep_m' });
        ids.push(event.id);
      }
      const all = await store.lifecycle.list({ types: TYPES, projectId: project.id });
      expect(all.map((e) => e.id)).toEqual(ids);
      expect((await store.lifecycle.list({ types: ['deployment.succeeded'], projectId: project.id })).map((e) => e.id)).toEqual([ids[1], ids[3]]);
      expect((await store.lifecycle.list({ types: TYPES, deploymentId: 'dep_m' })).map((e) => e.id)).toEqual([ids[3], ids[4]]);
      const page1 = await store.lifecycle.list({ types: TYPES, projectId: project.id, limit: 2 });
      const page2 = await store.lifecycle.list({ types: TYPES, projectId: project.id, limit: 2, afterId: page1.at(-1)!.id });
      expect([...page1, ...page2].map((e) => e.id)).toEqual(ids.slice(0, 4));
    });

    it('leases each due delivery to one dispatcher, retries later, dead-letters and redelivers', async () => {
      const hook = await store.webhooks.create({ url: 'http://127.0.0.1:1/x', events: ['deployment.started'], secret: 'sekrit' });
      for (let i = 0; i < 4; i += 1) await store.lifecycle.record({ type: 'deployment.started' });
      const claims = await Promise.all([1, 2, 3].map((n) => store.deliveries.claimDue({ owner: `d${n}`, leaseMs: 30_000, limit: 2 })));
      const claimed = claims.flat();
      expect(claimed).toHaveLength(4);
      expect(new Set(claimed.map((c) => c.delivery.id)).size).toBe(4);
      expect(claimed[0]).toMatchObject({ url: 'http://127.0.0.1:1/x', secret: 'sekrit', event: { type: 'deployment.started' }, delivery: { attempts: 1, status: 'delivering' } });
      expect(await store.deliveries.claimDue({ owner: 'd4', leaseMs: 30_000, limit: 10 })).toEqual([]);

      const [first, second, third] = claimed;
      const owner = (id: string) => `d${claims.findIndex((c) => c.some((x) => x.delivery.id === id)) + 1}`;
      // Only the lease holder records an outcome.
      expect(await store.deliveries.record(first!.delivery.id, 'someone-else', { status: 'succeeded', statusCode: 200 })).toBeUndefined();
      expect(await store.deliveries.record(first!.delivery.id, owner(first!.delivery.id), { status: 'succeeded', statusCode: 204 })).toMatchObject({
        status: 'succeeded',
        lastStatusCode: 204,
      });
      const retried = await store.deliveries.record(second!.delivery.id, owner(second!.delivery.id), { status: 'pending', retryInMs: 60_000, statusCode: 500, error: 'answered 500' });
      expect(retried!.nextAttemptAt!.getTime()).toBeGreaterThan(Date.now() + 50_000);
      const dead = await store.deliveries.record(third!.delivery.id, owner(third!.delivery.id), { status: 'dead', error: 'connection refused' });
      expect(dead).toMatchObject({ status: 'dead', lastError: 'connection refused' });
      expect((await store.deliveries.list({ webhookId: hook.id, status: 'dead' })).map((d) => d.id)).toEqual([third!.delivery.id]);

      // A waiting retry is not due yet; a redelivered dead letter is, with a fresh count.
      expect(await store.deliveries.claimDue({ owner: 'd5', leaseMs: 30_000, limit: 10 })).toEqual([]);
      expect(await store.deliveries.redeliver(third!.delivery.id)).toMatchObject({ status: 'pending', attempts: 0 });
      const again = await store.deliveries.claimDue({ owner: 'd5', leaseMs: 30_000, limit: 10 });
      expect(again.map((c) => c.delivery.id)).toEqual([third!.delivery.id]);
      await expect(store.deliveries.redeliver(third!.delivery.id)).rejects.toMatchObject({ code: 'conflict' });
      await expect(store.deliveries.redeliver('dlv_nope')).rejects.toMatchObject({ code: 'not_found' });
      await store.webhooks.remove(hook.id);
    });

    it('gives a delivery whose dispatcher died (lease expired) to another one', async () => {
      const hook = await store.webhooks.create({ url: 'http://127.0.0.1:1/y', events: ['*'], secret: 'k' });
      await store.lifecycle.record({ type: 'deployment.started' });
      const [taken] = await store.deliveries.claimDue({ owner: 'dying', leaseMs: 1, limit: 1 });
      await new Promise((resolve) => setTimeout(resolve, 20));
      const [retaken] = await store.deliveries.claimDue({ owner: 'heir', leaseMs: 30_000, limit: 1 });
      expect(retaken!.delivery).toMatchObject({ id: taken!.delivery.id, attempts: 2 });
      expect(await store.deliveries.record(taken!.delivery.id, 'dying', { status: 'succeeded', statusCode: 200 })).toBeUndefined();
      await store.webhooks.remove(hook.id);
    });
  });
}
