import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ReplicaStatus } from '../../src/runtime/index.js';
import { RuntimeSandbox, eventually, isAlive, replicaSpec } from './harness.js';

let sandbox: RuntimeSandbox;
beforeEach(() => {
  sandbox = new RuntimeSandbox();
});
afterEach(async () => {
  await sandbox.cleanup();
});

describe('stopping a replica', () => {
  it('sends SIGTERM, lets the app leave on its own, and forgets the replica', async () => {
    const agent = sandbox.agent();
    const states: string[] = [];
    agent.on('change', (status: ReplicaStatus) => states.push(status.state));
    const { pid } = await agent.start(replicaSpec('calm-1', 'ok.mjs'));
    await agent.waitHealthy('calm-1', 5000);

    const began = Date.now();
    await agent.stop('calm-1', { graceMs: 5000 });
    expect(Date.now() - began).toBeLessThan(2000);
    expect(isAlive(pid!)).toBe(false);
    expect(states.slice(-2)).toEqual(['stopping', 'stopped']);
    expect(existsSync(join(sandbox.stateDir, 'calm-1.json'))).toBe(false);
    expect(agent.get('calm-1')).toBeUndefined();
    const log = readFileSync(agent.logFile('calm-1'), 'utf8');
    expect(log).toContain('SIGTERM received, closing');
    expect(log).toContain('--- replica calm-1 stopped (terminated) ---');
    // The exit stop() caused is no crash: nothing restarts.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(agent.list()).toEqual([]);

    await agent.stop('calm-1');
  });

  it('SIGKILLs the whole process group after the grace period, children included', async () => {
    const agent = sandbox.agent();
    const childPidFile = join(sandbox.root, 'child.pid');
    const { pid } = await agent.start(replicaSpec('stubborn-1', 'ignore-term.mjs', { env: { CHILD_PID_FILE: childPidFile } }));
    await agent.waitHealthy('stubborn-1', 5000);
    const childPid = Number(readFileSync(childPidFile, 'utf8'));
    sandbox.track(childPid);
    expect(isAlive(childPid)).toBe(true);

    const began = Date.now();
    await agent.stop('stubborn-1', { graceMs: 400 });
    expect(Date.now() - began).toBeGreaterThanOrEqual(400);
    expect(isAlive(pid!)).toBe(false);
    expect(isAlive(childPid)).toBe(false);
    const log = readFileSync(agent.logFile('stubborn-1'), 'utf8');
    expect(log).toContain('SIGTERM ignored');
    expect(log).toContain('still running after 400 ms, killed');
  });

  it('stops a replica waiting for its restart, so it never comes back', async () => {
    const agent = sandbox.agent({ restartBackoff: { initialMs: 300, maxMs: 300 } });
    await agent.start(replicaSpec('waiting-1', 'exit-at-once.mjs'));
    expect(await eventually(() => agent.get('waiting-1')?.lastExit !== undefined)).toBe(true);
    await agent.stop('waiting-1');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(agent.get('waiting-1')).toBeUndefined();
    expect(readFileSync(agent.logFile('waiting-1'), 'utf8').match(/started pid/g)).toHaveLength(1);
  });

  it('shutdown({stopReplicas: true}) stops every replica', async () => {
    const agent = sandbox.agent();
    const pids = [(await agent.start(replicaSpec('all-1', 'ok.mjs'))).pid!, (await agent.start(replicaSpec('all-2', 'ok.mjs'))).pid!];
    await agent.shutdown({ stopReplicas: true });
    expect(pids.map(isAlive)).toEqual([false, false]);
    expect(existsSync(join(sandbox.stateDir, 'all-1.json'))).toBe(false);
    await expect(agent.start(replicaSpec('all-3', 'ok.mjs'))).rejects.toMatchObject({ code: 'unavailable' });
  });
});
