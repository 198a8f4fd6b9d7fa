import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emitLifecycle, verifyWebhookSignature } from '../../src/events/index.js';
import { CLI, ROOT, cli, startTestMaestro, stopTestMaestro, type TestMaestro } from '../e2e/harness.js';
import { startReceiver, type Receiver } from './receiver.js';

describe('maestro webhooks and maestro events', () => {
  let maestro: TestMaestro;
  let hook: Receiver;

  beforeAll(async () => {
    maestro = await startTestMaestro({ webhooks: { pollIntervalMs: 100 } });
    hook = await startReceiver();
  }, 30_000);

  afterAll(async () => {
    await hook?.close();
    await stopTestMaestro(maestro);
  }, 30_000);

  it('adds a webhook, shows its deliveries, redelivers one and removes it', async () => {
    const projectId = (await maestro.store.projects.ensure('cli-hooks')).id;
    const added = await cli(['webhooks', 'add', hook.url, '--events', 'deployment.succeeded', '--project', 'cli-hooks', '--json'], maestro.env);
    expect(added.stderr).toBe('');
    const webhook = JSON.parse(added.stdout) as { id: string; secret: string };
    expect(webhook.secret).toMatch(/^whsec_/);

    // Independent invocations run side by side: each is a process of its own.
    const [listed, bad] = await Promise.all([cli(['webhooks', 'ls'], maestro.env), cli(['webhooks', 'add', 'ftp://example.com/x'], maestro.env)]);
    expect(listed.stdout).toContain(webhook.id);
    expect(listed.stdout).toContain('cli-hooks');
    expect(listed.stdout).not.toContain(webhook.secret);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/http or https/);

    await emitLifecycle(maestro.store, maestro.plane.bus, { type: 'deployment.succeeded', projectId, deploymentId: 'dep_cli' });
    const [first] = await hook.waitFor(1);
    expect(verifyWebhookSignature(webhook.secret, first!.body, first!.headers['x-maestro-signature'] as string)).toBe(true);
    const deliveryId = first!.headers['x-maestro-delivery'] as string;
    await expect.poll(async () => (await maestro.store.deliveries.get(deliveryId))?.status).toBe('succeeded');

    const shown = await cli(['webhooks', 'deliveries', webhook.id], maestro.env);
    expect(shown.stdout).toMatch(new RegExp(`${deliveryId}\\s+deployment.succeeded #\\d+\\s+succeeded\\s+1\\s+answered 200`));

    const again = await cli(['webhooks', 'redeliver', deliveryId], maestro.env);
    expect(again.stdout).toContain(`delivery ${deliveryId}`);
    await hook.waitFor(2);
    expect(hook.received[1]!.headers['x-maestro-delivery']).toBe(deliveryId);

    expect((await cli(['webhooks', 'rm', webhook.id], maestro.env)).stdout).toContain(`removed webhook ${webhook.id}`);
    expect(await maestro.store.webhooks.get(webhook.id)).toBeUndefined();
  });

  it('prints recent events and then follows new ones with -f', async () => {
    const projectId = (await maestro.store.projects.ensure('cli-events')).id;
    await emitLifecycle(maestro.store, maestro.plane.bus, { type: 'deployment.started', projectId, deploymentId: 'dep_ev', actor: 'ada' });
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'events', '--project', 'cli-events', '-f'], {
      cwd: ROOT,
      env: { ...process.env, MAESTRO_LOG_LEVEL: 'silent', ...maestro.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    try {
      await expect.poll(() => stdout.split('\n').filter(Boolean).length, { timeout: 15_000 }).toBe(1);
      await emitLifecycle(maestro.store, maestro.plane.bus, { type: 'deployment.rolled_back', projectId, deploymentId: 'dep_ev', reason: 'errors' });
      await expect.poll(() => stdout.split('\n').filter(Boolean).length, { timeout: 10_000 }).toBe(2);
      // The recent event first, then the one that happened while following.
      const [recent, followed] = stdout.trim().split('\n');
      expect(recent).toMatch(/deployment\.started\s+dep_ev\s+by ada$/);
      expect(followed).toMatch(/deployment\.rolled_back\s+dep_ev\s+: errors$/);
    } finally {
      child.kill();
    }
  });
});
