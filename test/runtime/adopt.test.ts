import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { processStartTime } from '../../src/runtime/index.js';
import { FIXTURES, RuntimeSandbox, eventually, httpGet, isAlive, replicaSpec } from './harness.js';

let sandbox: RuntimeSandbox;
beforeEach(() => {
  sandbox = new RuntimeSandbox();
});
afterEach(async () => {
  await sandbox.cleanup();
});

function record(id: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(sandbox.stateDir, `${id}.json`), 'utf8'));
}

describe('adoption after the control plane died', () => {
  it('re-attaches live replicas with the same pids and restarts the one that died while no agent ran', async () => {
    const first = sandbox.agent();
    const a = await first.start(replicaSpec('keep-1', 'ok.mjs'));
    const b = await first.start(replicaSpec('keep-2', 'ok.mjs', { labels: { service: 'api' } }));
    await Promise.all([first.waitHealthy('keep-1', 5000), first.waitHealthy('keep-2', 5000)]);

    // The control plane dies: its agent lets go without stopping anything.
    await first.shutdown({ stopReplicas: false });
    expect(isAlive(a.pid!) && isAlive(b.pid!)).toBe(true);
    expect((await httpGet(a.port)).status).toBe(200);
    // keep-2 crashes while no agent is running.
    process.kill(-b.pid!, 'SIGKILL');
    expect(await eventually(() => !isAlive(b.pid!))).toBe(true);

    const second = sandbox.agent();
    const adopted = await second.adopt();
    const byId = new Map(adopted.map((status) => [status.id, status]));
    expect(byId.get('keep-1')).toMatchObject({ state: 'healthy', pid: a.pid, port: a.port, adopted: true, restarts: 0 });
    expect(byId.get('keep-2')).toMatchObject({ port: b.port, adopted: false, restarts: 1, labels: { service: 'api' } });
    expect(byId.get('keep-2')!.pid).not.toBe(b.pid);

    const healed = await second.waitHealthy('keep-2', 5000);
    expect((await httpGet(b.port)).body).toBe(`ok from ${healed.pid}\n`);
    expect(record('keep-2')).toMatchObject({ pid: healed.pid, restarts: 1 });
    expect(readFileSync(second.logFile('keep-2'), 'utf8')).toContain(`replica keep-2 (pid ${b.pid}) died while no agent was watching; restarting`);
    expect(readFileSync(second.logFile('keep-1'), 'utf8')).toContain(`replica keep-1 pid ${a.pid} adopted by a new agent`);

    // The adopted replica is watched by polling its pid: when it dies, it is restarted too.
    process.kill(-a.pid!, 'SIGKILL');
    expect(await eventually(() => second.get('keep-1')?.restarts === 1 && second.get('keep-1')?.state === 'healthy', 5000)).toBe(true);
    expect(second.get('keep-1')).toMatchObject({ adopted: false, lastExit: { code: null, signal: null } });

    // And an adopted replica stops like any other.
    await second.stop('keep-1', { graceMs: 2000 });
    expect(existsSync(join(sandbox.stateDir, 'keep-1.json'))).toBe(false);
  });

  it('keeps replicas running when the control plane process is killed with SIGKILL, and adopts them', async () => {
    const controlPlane = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('./fixtures/control-plane.ts', import.meta.url)), sandbox.stateDir, sandbox.logDir, FIXTURES],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise((resolve) => controlPlane.once('exit', resolve));
    try {
      const [line] = await Promise.race([
        (async () => {
          for await (const text of createInterface({ input: controlPlane.stdout! })) return [text];
          return [undefined];
        })(),
        exited.then(() => [undefined]),
      ]);
      expect(line, 'the control plane printed its replica status').toBeDefined();
      const before = JSON.parse(line!) as { pid: number; port: number };
      sandbox.track(before.pid);

      controlPlane.kill('SIGKILL');
      await exited;
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(isAlive(before.pid)).toBe(true);
      expect((await httpGet(before.port)).body).toBe(`ok from ${before.pid}\n`);

      const agent = sandbox.agent();
      const [status] = await agent.adopt();
      expect(status).toMatchObject({ id: 'survivor-1', state: 'healthy', pid: before.pid, port: before.port, adopted: true });
      await agent.stop('survivor-1', { graceMs: 2000 });
      expect(isAlive(before.pid)).toBe(false);
    } finally {
      controlPlane.kill('SIGKILL');
    }
  });

  it('treats a recycled pid (another start time) as dead and leaves that process alone', async () => {
    const first = sandbox.agent();
    const started = await first.start(replicaSpec('recycled-1', 'ok.mjs'));
    await first.waitHealthy('recycled-1', 5000);
    await first.shutdown({ stopReplicas: false });
    process.kill(-started.pid!, 'SIGKILL');
    expect(await eventually(() => !isAlive(started.pid!))).toBe(true);
    // The state file now names a pid that belongs to an unrelated live process (this test runner).
    writeFileSync(
      join(sandbox.stateDir, 'recycled-1.json'),
      JSON.stringify({ ...record('recycled-1'), pid: process.pid, processStartTime: String(Number(processStartTime(process.pid)) + 1) }),
    );

    const second = sandbox.agent();
    const [status] = await second.adopt();
    expect(status).toMatchObject({ id: 'recycled-1', adopted: false, restarts: 1 });
    expect(status!.pid).not.toBe(process.pid);
    await second.waitHealthy('recycled-1', 5000);
    await second.stop('recycled-1', { graceMs: 2000 });
  });

  it('finishes a stop the dead control plane had begun, and keeps a crash-looped replica given up', async () => {
    const first = sandbox.agent();
    const halfStopped = await first.start(replicaSpec('leaving-1', 'ok.mjs'));
    await first.start(replicaSpec('looping-1', 'exit-at-once.mjs'));
    await first.waitHealthy('leaving-1', 5000);
    await first.waitHealthy('looping-1', 5000).catch(() => {});
    await first.shutdown({ stopReplicas: false });
    writeFileSync(join(sandbox.stateDir, 'leaving-1.json'), JSON.stringify({ ...record('leaving-1'), phase: 'stopping' }));
    writeFileSync(join(sandbox.stateDir, 'junk.json'), '{"spec": {"env": {"TOKEN": "hunter2"}}');

    const second = sandbox.agent();
    const warnings: string[] = [];
    second.on('warning', (message: string) => warnings.push(message));
    const adopted = await second.adopt();
    expect(adopted.map((status) => [status.id, status.state])).toEqual([['looping-1', 'crashed']]);
    expect(isAlive(halfStopped.pid!)).toBe(false);
    expect(existsSync(join(sandbox.stateDir, 'leaving-1.json'))).toBe(false);
    expect(warnings).toEqual([`ignored state file ${join(sandbox.stateDir, 'junk.json')}: not valid JSON`]);
    await expect(second.waitHealthy('looping-1', 1000)).rejects.toThrow(/crash loop/);
  });

  it('will not start an id an earlier agent left running until it is adopted', async () => {
    const first = sandbox.agent();
    await first.start(replicaSpec('owned-1', 'ok.mjs'));
    await first.shutdown({ stopReplicas: false });
    const second = sandbox.agent();
    await expect(second.start(replicaSpec('owned-1', 'ok.mjs'))).rejects.toThrow(/call adopt\(\) to take it over/);
    // stop() works on it without adopting first.
    await second.stop('owned-1', { graceMs: 2000 });
    expect(existsSync(join(sandbox.stateDir, 'owned-1.json'))).toBe(false);
  });
});
