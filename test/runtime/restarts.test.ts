import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ReplicaStatus } from '../../src/runtime/index.js';
import { RuntimeSandbox, eventually, httpGet, isAlive, replicaSpec } from './harness.js';

let sandbox: RuntimeSandbox;
beforeEach(() => {
  sandbox = new RuntimeSandbox();
});
afterEach(async () => {
  await sandbox.cleanup();
});

describe('crash handling', () => {
  it('restarts a replica that crashes after being healthy, on the same port, with the restart count rising', async () => {
    const agent = sandbox.agent({ restartBackoff: { initialMs: 50, maxMs: 200 } });
    const changes: ReplicaStatus[] = [];
    agent.on('change', (status: ReplicaStatus) => changes.push(status));
    const first = await agent.start(replicaSpec('flaky-1', 'crash-after.mjs', { env: { CRASH_AFTER_MS: '300' } }));
    await agent.waitHealthy('flaky-1', 5000);

    // Each run is healthy before it crashes, so this is no crash loop: restarts keep coming.
    expect(await eventually(() => (agent.get('flaky-1')?.restarts ?? 0) >= 3, 8000)).toBe(true);
    const pids = new Set(changes.map((status) => status.pid).filter((pid) => pid !== undefined));
    expect(pids.size).toBeGreaterThanOrEqual(3);
    expect(changes.every((status) => status.port === first.port)).toBe(true);
    const exits = changes.filter((status) => status.lastExit && status.pid === undefined);
    expect(exits[0]!.lastExit).toMatchObject({ code: 3, signal: null });
    expect(exits[0]!.state).toBe('starting');
    expect(changes.some((status) => status.state === 'crashed')).toBe(false);

    const restarted = await agent.waitHealthy('flaky-1', 5000);
    expect(restarted.pid).not.toBe(first.pid);
    expect(isAlive(first.pid!)).toBe(false);
    expect((await agent.readLogs('flaky-1')).filter((line) => line.includes('crashing on purpose')).length).toBeGreaterThanOrEqual(3);
  });

  it('kills what a crashed app left behind in its process group before restarting it', async () => {
    const agent = sandbox.agent({ restartBackoff: { initialMs: 50, maxMs: 50 } });
    const childPidFile = join(sandbox.root, 'children');
    await agent.start(replicaSpec('parent-1', 'crash-after.mjs', { env: { CRASH_AFTER_MS: '400', CHILD_PID_FILE: childPidFile } }));
    expect(await eventually(() => agent.get('parent-1')?.restarts === 1, 5000)).toBe(true);
    const [firstChild] = readFileSync(childPidFile, 'utf8').trim().split('\n').map(Number);
    sandbox.track(firstChild!);
    expect(await eventually(() => !isAlive(firstChild!), 2000)).toBe(true);
  });

  it('restarts a replica killed from outside, counting a signal exit', async () => {
    const agent = sandbox.agent();
    const first = await agent.start(replicaSpec('victim-1', 'ok.mjs'));
    await agent.waitHealthy('victim-1', 5000);
    process.kill(first.pid!, 'SIGKILL');
    expect(await eventually(() => agent.get('victim-1')?.restarts === 1 && agent.get('victim-1')?.state === 'healthy')).toBe(true);
    const status = agent.get('victim-1')!;
    expect(status.lastExit).toMatchObject({ code: null, signal: 'SIGKILL' });
    expect((await httpGet(status.port)).body).toBe(`ok from ${status.pid}\n`);
  });
});

describe('a restart that cannot spawn', () => {
  it('counts towards the crash loop instead of bringing the control plane down', async () => {
    const agent = sandbox.agent({ restartBackoff: { initialMs: 20, maxMs: 20 } });
    const { pid } = await agent.start(replicaSpec('orphaned-1', 'ok.mjs'));
    await agent.waitHealthy('orphaned-1', 5000);
    rmSync(sandbox.logDir, { recursive: true, force: true });
    process.kill(pid!, 'SIGKILL');
    expect(await eventually(() => agent.get('orphaned-1')?.state === 'crashed', 5000)).toBe(true);
    expect(agent.get('orphaned-1')!.lastError).toMatch(/^could not start: ENOENT/);
  });
});

describe('health transitions', () => {
  it('goes unhealthy after unhealthyThreshold failures, keeps probing, and comes back', async () => {
    const agent = sandbox.agent();
    const healthFile = join(sandbox.root, 'health');
    const health = { path: '/healthz', intervalMs: 50, timeoutMs: 500, healthyThreshold: 2, unhealthyThreshold: 3 };
    const states: string[] = [];
    agent.on('change', (status: ReplicaStatus) => states.push(status.state));
    await agent.start(replicaSpec('toggle-1', 'toggle-health.mjs', { health, env: { HEALTH_FILE: healthFile } }));
    await agent.waitHealthy('toggle-1', 5000);

    writeFileSync(healthFile, '503');
    expect(await eventually(() => agent.get('toggle-1')?.state === 'unhealthy', 3000)).toBe(true);
    expect(agent.get('toggle-1')!.lastError).toBe('health check GET /healthz answered 503');

    rmSync(healthFile);
    const back = await agent.waitHealthy('toggle-1', 3000);
    expect(back.lastError).toBeUndefined();
    expect(back.restarts).toBe(0);
    expect(states).toEqual(['starting', 'healthy', 'unhealthy', 'healthy']);
  });

  it('sees a new replica healthy within ~100 ms of listening, even with a long interval', async () => {
    const agent = sandbox.agent();
    const health = { intervalMs: 60_000, timeoutMs: 500, healthyThreshold: 1, unhealthyThreshold: 3 };
    let healthyAt = 0;
    agent.on('change', (status: ReplicaStatus) => {
      if (status.state === 'healthy') healthyAt = Date.now();
    });
    await agent.start(replicaSpec('quick-1', 'ok.mjs', { health }));
    await agent.waitHealthy('quick-1', 5000);
    const listening = (await agent.readLogs('quick-1')).find((line) => line.startsWith('listening on'))!;
    const listenedAt = Number(/ at (\d+)$/.exec(listening)![1]);
    // 100 ms probing pace plus generous slack for a busy machine; a 60 s interval would be far off.
    expect(healthyAt - listenedAt).toBeLessThan(1500);
  });
});
