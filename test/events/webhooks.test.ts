import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emitLifecycle, verifyWebhookSignature, type LifecycleEvent } from '../../src/events/index.js';
import { startTestMaestro, stopTestMaestro, type TestMaestro } from '../e2e/harness.js';
import { eventually, startReceiver, type Receiver } from './receiver.js';

describe('lifecycle events and webhooks against a real server', () => {
  let maestro: TestMaestro;
  const receivers: Receiver[] = [];

  async function api<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const response = await request(`${maestro.apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${maestro.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.statusCode, body: (await response.body.json()) as T };
  }

  async function project(name: string): Promise<string> {
    return (await maestro.store.projects.ensure(name)).id;
  }

  const emit = (projectId: string, type: LifecycleEvent['type'], extra: Partial<Parameters<typeof emitLifecycle>[2]> = {}) =>
    emitLifecycle(maestro.store, maestro.plane.bus, { type, projectId, ...extra });

  async function receiver(...args: Parameters<typeof startReceiver>): Promise<Receiver> {
    const started = await startReceiver(...args);
    receivers.push(started);
    return started;
  }

  interface DeliveryView {
    id: string;
    status: string;
    attempts: number;
    lastStatusCode: number | null;
    lastError: string | null;
    nextAttemptAt: string | null;
  }
  const deliveries = async (webhook: string, status?: string) =>
    (await api<{ deliveries: DeliveryView[] }>('GET', `/v1/webhooks/${webhook}/deliveries${status ? `?status=${status}` : ''}`)).body.deliveries;

  beforeAll(async () => {
    maestro = await startTestMaestro({ webhooks: { pollIntervalMs: 100,
      timeoutMs: 1000,
      retry: { baseDelayMs: 150, maxAttempts: 3 } } });
  }, 30_000);

  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.close()));
    await stopTestMaestro(maestro);
  }, 30_000);

  it('lists events filtered by type, project and deployment, page by page with the cursor', async () => {
    const alpha = await project('events-alpha');
    const beta = await project('events-beta');
    const a1 = await emit(alpha, 'deployment.started', { deploymentId: 'dep_a1', actor: 'ada', release: 'rel_1', revision: 'rev_1' });
    await emit(beta, 'deployment.started', { deploymentId: 'dep_b1' });
    const a2 = await emit(alpha, 'deployment.health_check', { deploymentId: 'dep_a1', data: { passed: 3 } });
    const a3 = await emit(alpha, 'deployment.failed', { deploymentId: 'dep_a2', reason: 'health check failed 3 times' });

    type Page = { events: LifecycleEvent[]; cursor: number };
    const all = (await api<Page>('GET', '/v1/events?project=events-alpha')).body;
    expect(all.events.map((e) => e.id)).toEqual([a1.id, a2.id, a3.id]);
    expect(all.events[0]).toMatchObject({ type: 'deployment.started', deploymentId: 'dep_a1', actor: 'ada', releaseId: 'rel_1', revisionId: 'rev_1' });
    expect(all.events[2]).toMatchObject({ reason: 'health check failed 3 times' });

    const typed = (await api<Page>('GET', '/v1/events?project=events-alpha&type=deployment.started,deployment.failed')).body;
    expect(typed.events.map((e) => e.id)).toEqual([a1.id, a3.id]);
    expect((await api<Page>('GET', '/v1/events?deployment=dep_a1')).body.events.map((e) => e.id)).toEqual([a1.id, a2.id]);

    const first = (await api<Page>('GET', '/v1/events?project=events-alpha&limit=2')).body;
    expect(first.events.map((e) => e.id)).toEqual([a1.id, a2.id]);
    const second = (await api<Page>(`GET`, `/v1/events?project=events-alpha&limit=2&after=${first.cursor}`)).body;
    expect(second.events.map((e) => e.id)).toEqual([a3.id]);
    const empty = (await api<Page>(`GET`, `/v1/events?project=events-alpha&after=${second.cursor}`)).body;
    expect(empty).toEqual({ events: [], cursor: second.cursor });

    const bad = await api<{ error: { code: string; message: string } }>('GET', '/v1/events?type=deployment.exploded');
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/unknown event type deployment\.exploded/);
    expect((await api<{ error: { code: string } }>('GET', '/v1/events?project=nope-nope')).status).toBe(404);
  });

  it('streams events over SSE: replays after the given id, then follows new ones', async () => {
    const id = await project('events-stream');
    const before = await emit(id, 'deployment.started', { deploymentId: 'dep_s' });
    const replayed = await emit(id, 'deployment.step_progress', { deploymentId: 'dep_s', data: { step: 'build' } });
    const controller = new AbortController();
    const response = await request(`${maestro.apiUrl}/v1/events/stream?project=events-stream&after=${before.id}`, {
      headers: { authorization: `Bearer ${maestro.token}` },
      signal: controller.signal,
    });
    expect(response.headers['content-type']).toMatch(/text\/event-stream/);
    const seen: Array<{ id: number; event: string; data: LifecycleEvent }> = [];
    let buffer = '';
    const reading = (async () => {
      for await (const chunk of response.body) {
        buffer += chunk.toString();
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const field = (name: string) => block.split('\n').find((line) => line.startsWith(`${name}: `))?.slice(name.length + 2);
          if (field('data')) seen.push({ id: Number(field('id')), event: field('event')!, data: JSON.parse(field('data')!) as LifecycleEvent });
        }
      }
    })().catch(() => undefined);

    await eventually(async () => (seen.length >= 1 ? true : undefined));
    await emit(await project('events-elsewhere'), 'deployment.started');
    const followed = await emit(id, 'deployment.succeeded', { deploymentId: 'dep_s' });
    await eventually(async () => (seen.length >= 2 ? true : undefined));
    controller.abort();
    await reading;
    expect(seen.map((s) => [s.id, s.event])).toEqual([
      [replayed.id, 'deployment.step_progress'],
      [followed.id, 'deployment.succeeded'],
    ]);
    expect(seen[1]!.data).toMatchObject({ id: followed.id, deploymentId: 'dep_s' });
  });

  it('sends a signed delivery whose signature verifies with the secret shown once', async () => {
    const id = await project('hooks-signed');
    const hook = await receiver();
    const created = await api<{ id: string; secret: string; events: string[]; project: string }>('POST', '/v1/webhooks', {
      url: hook.url,
      events: ['deployment.succeeded'],
      project: 'hooks-signed',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ events: ['deployment.succeeded'], project: 'hooks-signed' });
    expect(created.body.secret).toMatch(/^whsec_/);
    const listed = await api<{ webhooks: Array<Record<string, unknown>> }>('GET', '/v1/webhooks');
    expect(listed.body.webhooks.find((w) => w.id === created.body.id)).toBeDefined();
    expect(JSON.stringify(listed.body)).not.toContain(created.body.secret);

    await emit(id, 'deployment.started'); // not subscribed
    const event = await emit(id, 'deployment.succeeded', { deploymentId: 'dep_signed', actor: 'ci' });
    const [got] = await hook.waitFor(1);
    expect(got!.headers['x-maestro-event']).toBe('deployment.succeeded');
    expect(verifyWebhookSignature(created.body.secret, got!.body, got!.headers['x-maestro-signature'] as string)).toBe(true);
    expect(verifyWebhookSignature('some-other-secret-value', got!.body, got!.headers['x-maestro-signature'] as string)).toBe(false);
    expect(Number(got!.headers['x-maestro-timestamp'])).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(JSON.parse(got!.body)).toMatchObject({ id: event.id, type: 'deployment.succeeded', deploymentId: 'dep_signed', actor: 'ci' });

    const [delivery] = await eventually(async () => {
      const list = await deliveries(created.body.id);
      return list[0]?.status === 'succeeded' ? list : undefined;
    });
    expect(delivery).toMatchObject({ id: got!.headers['x-maestro-delivery'], attempts: 1, lastStatusCode: 200 });
    expect(hook.received).toHaveLength(1);
  });

  it('retries a receiver that answers 500 twice, with growing waits, until it answers 200', async () => {
    const id = await project('hooks-retry');
    const hook = await receiver((n, res) => {
      res.statusCode = n < 2 ? 500 : 200;
      res.end();
    });
    const created = await api<{ id: string }>('POST', '/v1/webhooks', { url: hook.url, events: ['*'], project: 'hooks-retry' });
    await emit(id, 'deployment.failed', { reason: 'out of memory' });
    const got = await hook.waitFor(3);
    const [one, two, three] = got.map((r) => r.at);
    expect(two! - one!).toBeGreaterThanOrEqual(140);
    expect(three! - two!).toBeGreaterThan(two! - one!);
    expect(new Set(got.map((r) => r.headers['x-maestro-delivery'])).size).toBe(1);
    const [delivery] = await eventually(async () => {
      const list = await deliveries(created.body.id);
      return list[0]?.status === 'succeeded' ? list : undefined;
    });
    expect(delivery).toMatchObject({ attempts: 3, lastStatusCode: 200 });
  });

  it('dead-letters a delivery to a dead receiver, and redelivers it once the receiver is back', async () => {
    const id = await project('hooks-dead');
    const probe = await startReceiver();
    const port = probe.port;
    await probe.close(); // nothing listens there now
    const created = await api<{ id: string }>('POST', '/v1/webhooks', { url: `http://127.0.0.1:${port}/hook`, events: ['*'], project: 'hooks-dead' });
    await emit(id, 'deployment.rolled_back', { reason: 'error rate 12%' });
    const [dead] = await eventually(async () => {
      const list = await deliveries(created.body.id, 'dead');
      return list.length > 0 ? list : undefined;
    });
    expect(dead).toMatchObject({ status: 'dead', attempts: 3, lastStatusCode: null, nextAttemptAt: null });
    expect(dead!.lastError).toMatch(/ECONNREFUSED/);
    const letters = await api<{ deliveries: DeliveryView[] }>('GET', '/v1/deliveries?status=dead');
    expect(letters.body.deliveries.map((d) => d.id)).toContain(dead!.id);

    const back = await receiver(undefined, port);
    const redelivered = await api<DeliveryView>('POST', `/v1/deliveries/${dead!.id}/redeliver`);
    expect(redelivered.status).toBe(200);
    expect(redelivered.body).toMatchObject({ id: dead!.id, status: 'pending', attempts: 0 });
    const [got] = await back.waitFor(1);
    expect(got!.headers['x-maestro-delivery']).toBe(dead!.id);
    await eventually(async () => ((await deliveries(created.body.id))[0]?.status === 'succeeded' ? true : undefined));
    expect(await deliveries(created.body.id, 'dead')).toEqual([]);
    expect((await api('POST', '/v1/deliveries/dlv_nothing/redeliver')).status).toBe(404);
  });

  it('records an event at once while a receiver hangs without answering', async () => {
    const id = await project('hooks-hang');
    const held: Array<() => void> = [];
    const hook = await receiver((_, res) => held.push(() => res.end('late')));
    const created = await api<{ id: string }>('POST', '/v1/webhooks', { url: hook.url, events: ['*'], project: 'hooks-hang' });
    await emit(id, 'deployment.started');
    expect(hook.received.length).toBe(0); // emit returned before the receiver even heard of it
    await hook.waitFor(1); // the receiver now holds that request open
    const emitted = await emit(id, 'deployment.canary_promoted', { data: { weight: 50 } });
    expect(held.length).toBeGreaterThan(0);
    expect(emitted.type).toBe('deployment.canary_promoted');
    // Still unanswered when emit returned: nothing on the emit path waits for the receiver.
    // The dispatcher gives up on the hung request after its timeout and schedules a retry.
    const timedOut = await eventually(async () => (await deliveries(created.body.id)).find((d) => d.lastError?.includes('no answer within 1000 ms')));
    expect(timedOut.attempts).toBeGreaterThanOrEqual(1);
    for (const release of held.splice(0)) release();
  });

  it('refuses webhooks it cannot use, with a message that says what to fix', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ url: 'ftp://example.com/x' }, /http or https/],
      [{ url: 'not a url' }, /not a URL/],
      [{ url: 'https://user:pw@example.com/x' }, /user name or password/],
      [{ url: 'https://example.com/x', events: ['deployment.nope'] }, /unknown event type deployment\.nope/],
      [{ url: 'https://example.com/x', secret: 'short' }, /16 to 256/],
    ];
    for (const [body, message] of cases) {
      const answer = await api<{ error: { code: string; message: string } }>('POST', '/v1/webhooks', body);
      expect(answer.status).toBe(400);
      expect(answer.body.error.message).toMatch(message);
    }
    expect((await api('DELETE', '/v1/webhooks/whk_missing')).status).toBe(404);
    expect((await api('GET', '/v1/webhooks/whk_missing/deliveries')).status).toBe(404);
  });
});
