import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { silentLogger } from '../../src/common/index.js';
import { EventBus, emitLifecycle, startWebhookDispatcher } from '../../src/events/index.js';
import { openStore, type Store } from '../../src/store/index.js';
import { startReceiver } from './receiver.js';

let dataDir: string;
let store: Store;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'maestro-dispatch-'));
  store = await openStore({ dataDir });
});
afterAll(async () => {
  await store?.close();
  await rm(dataDir, { recursive: true, force: true });
});

it('keeps at most maxInFlight requests open to slow receivers, and sends the rest as they finish', async () => {
  const held: Array<() => void> = [];
  const hook = await startReceiver((_, res) => held.push(() => res.end()));
  const bus = new EventBus();
  await store.webhooks.create({ url: hook.url, events: ['*'], secret: 'a-secret-of-some-length' });
  const dispatcher = startWebhookDispatcher({ store, logger: silentLogger(), bus, maxInFlight: 2, pollIntervalMs: 50, timeoutMs: 10_000 });
  try {
    for (let i = 0; i < 5; i += 1) await emitLifecycle(store, bus, { type: 'deployment.step_progress', data: { i } });
    await hook.waitFor(2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(hook.received).toHaveLength(2);
    expect(dispatcher.busy).toBe(2);
    // Each answer frees a place for the next delivery.
    while (hook.received.length < 5 || held.length > 0) {
      held.shift()?.();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await expect.poll(async () => (await store.deliveries.list({ status: 'succeeded' })).length).toBe(5);
    const order = hook.received.map((r) => (JSON.parse(r.body) as { data: { i: number } }).data.i);
    expect(order.sort()).toEqual([0, 1, 2, 3, 4]);
  } finally {
    await dispatcher.stop();
    await hook.close();
  }
});

it('stop() cuts off a hung request and puts its delivery back in the queue, due at once', async () => {
  const hook = await startReceiver(() => undefined); // never answers
  const bus = new EventBus();
  const webhook = await store.webhooks.create({ url: hook.url, events: ['deployment.failed'], secret: 'another-secret-value' });
  const dispatcher = startWebhookDispatcher({ store, logger: silentLogger(), bus, pollIntervalMs: 50, timeoutMs: 30_000 });
  try {
    await emitLifecycle(store, bus, { type: 'deployment.failed', reason: 'boom' });
    await hook.waitFor(1);
    const started = performance.now();
    await dispatcher.stop();
    expect(performance.now() - started).toBeLessThan(5000);
    const [delivery] = await store.deliveries.list({ webhookId: webhook.id });
    expect(delivery).toMatchObject({ status: 'pending', lastError: 'the dispatcher stopped before an answer came' });
    expect(delivery!.nextAttemptAt!.getTime()).toBeLessThanOrEqual(Date.now());
  } finally {
    await hook.close();
    await store.webhooks.remove(webhook.id);
  }
});
