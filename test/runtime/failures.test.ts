import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MaestroError } from '../../src/common/index.js';
import type { ReplicaStatus } from '../../src/runtime/index.js';
import { RuntimeSandbox, replicaSpec } from './harness.js';

let sandbox: RuntimeSandbox;
beforeEach(() => {
  sandbox = new RuntimeSandbox();
});
afterEach(async () => {
  await sandbox.cleanup();
});

async function rejection(promise: Promise<unknown>): Promise<MaestroError & { details: { logTail: string[]; restarts: number } }> {
  const error = await promise.then(
    () => {
      throw new Error('expected waitHealthy to reject');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MaestroError);
  expect((error as MaestroError).code).toBe('unhealthy');
  return error as MaestroError & { details: { logTail: string[]; restarts: number } };
}

describe('waitHealthy says why a replica is not healthy', () => {
  it('an app that exits at once: crash loop after 2 restarts, with the exit code and its own words', async () => {
    const agent = sandbox.agent({ restartBackoff: { initialMs: 50, maxMs: 100 } });
    const states: string[] = [];
    agent.on('change', (status: ReplicaStatus) => states.push(status.state));
    await agent.start(replicaSpec('boom-1', 'exit-at-once.mjs'));

    const error = await rejection(agent.waitHealthy('boom-1', 10_000));
    expect(error.message).toMatch(/^crash loop after 2 restarts: replica boom-1 exited at once with code 1 \((\d+ms|[\d.]+s) after start\), 3 times in a row/);
    expect(error.details.restarts).toBe(2);
    expect(error.details.logTail).toContain('fatal: DATABASE_URL is not set');
    expect(error.details.logTail.length).toBeLessThanOrEqual(20);

    const status = agent.get('boom-1')!;
    expect(status).toMatchObject({ state: 'crashed', restarts: 2, lastExit: { code: 1, signal: null } });
    expect(status.pid).toBeUndefined();
    expect(states.at(-1)).toBe('crashed');
    // Given up for good: no further restart happens.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(agent.get('boom-1')!.restarts).toBe(2);

    // Asking again answers at once with the same reason.
    const again = await rejection(agent.waitHealthy('boom-1', 10_000));
    expect(again.message).toContain('crash loop after 2 restarts');
  });

  it('an app that exits while the deadline passes before the crash loop: the exit and the pending restart', async () => {
    const agent = sandbox.agent({ restartBackoff: { initialMs: 5000, maxMs: 5000 } });
    await agent.start(replicaSpec('boom-2', 'exit-at-once.mjs'));
    const error = await rejection(agent.waitHealthy('boom-2', 1500));
    expect(error.message).toMatch(/^replica boom-2 exited at once with code 1 .* and was not healthy within 1\.5s \(0 restarts so far/);
    expect(error.details.logTail).toContain('fatal: DATABASE_URL is not set');
  });

  it('an app that never listens: never answered on its port', async () => {
    const agent = sandbox.agent();
    const { port } = await agent.start(replicaSpec('mute-1', 'never-listens.mjs'));
    const error = await rejection(agent.waitHealthy('mute-1', 800));
    expect(error.message).toBe(`replica mute-1 never answered on port ${port} within 800ms: is the app listening on the port given in $PORT (${port})?`);
    expect(error.details.logTail).toContain('warming up forever');
    expect(agent.get('mute-1')!.state).toBe('starting');
  });

  it('a health check that answers 500: the path and the status', async () => {
    const agent = sandbox.agent();
    const health = { path: '/healthz', intervalMs: 200, timeoutMs: 500, healthyThreshold: 1, unhealthyThreshold: 2 };
    const { port } = await agent.start(replicaSpec('sick-1', 'healthz-500.mjs', { health }));
    const error = await rejection(agent.waitHealthy('sick-1', 800));
    expect(error.message).toBe(`health check GET /healthz answered 500 (expected 2xx or 3xx): replica sick-1 on port ${port} was not healthy within 800ms`);
    expect(error.details.logTail).toContain('healthz: database unreachable');
    expect(agent.get('sick-1')!.lastError).toBe('health check GET /healthz answered 500');
  });

  it('a replica stopped while someone waits for it', async () => {
    const agent = sandbox.agent();
    await agent.start(replicaSpec('gone-1', 'never-listens.mjs'));
    const waiting = agent.waitHealthy('gone-1', 5000).catch((e: unknown) => e);
    await agent.stop('gone-1', { graceMs: 1000 });
    expect(await waiting).toMatchObject({ code: 'conflict', message: 'replica gone-1 was stopped before it became healthy' });
  });
});
