import { readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MaestroError } from '../../src/common/index.js';
import type { ReplicaStatus } from '../../src/runtime/index.js';
import { RuntimeSandbox, httpGet, replicaSpec } from './harness.js';

let sandbox: RuntimeSandbox;
beforeEach(() => {
  sandbox = new RuntimeSandbox();
});
afterEach(async () => {
  await sandbox.cleanup();
});

describe('starting a replica', () => {
  it('runs the app on an allocated PORT, reports it healthy, and records it in a state file', async () => {
    const agent = sandbox.agent();
    const changes: ReplicaStatus[] = [];
    agent.on('change', (status: ReplicaStatus) => changes.push(status));
    const spec = replicaSpec('web-1', 'ok.mjs', { env: { API_TOKEN: 's3cr3t-value' } });

    const started = await agent.start(spec);
    expect(started.state).toBe('starting');
    expect(started.pid).toBeGreaterThan(0);
    expect(started.port).toBeGreaterThan(0);
    expect(started.labels).toEqual({ project: 'shop', service: 'web', environment: 'test' });

    const healthy = await agent.waitHealthy('web-1', 5000);
    expect(healthy).toMatchObject({ id: 'web-1', revisionId: 'rev-web-1', state: 'healthy', restarts: 0, adopted: false, pid: started.pid });
    expect(changes.map((status) => status.state)).toEqual(['starting', 'healthy']);

    const answer = await httpGet(started.port);
    expect(answer.status).toBe(200);
    // `exec` in the command: the shell became the app, so the pid the agent holds is the app's.
    expect(answer.body).toBe(`ok from ${started.pid}\n`);

    const record = JSON.parse(readFileSync(join(sandbox.stateDir, 'web-1.json'), 'utf8'));
    expect(record).toMatchObject({ version: 1, pid: started.pid, port: started.port, restarts: 0, phase: 'running' });
    expect(record.processStartTime).toMatch(/^\d+$/);
    expect(statSync(join(sandbox.stateDir, 'web-1.json')).mode & 0o777).toBe(0o600);

    const log = readFileSync(agent.logFile('web-1'), 'utf8');
    expect(log).toContain(`--- replica web-1 started pid ${started.pid} (revision rev-web-1, port ${started.port})`);
    expect(log).toContain(`listening on ${started.port}`);
    expect(log).not.toContain('s3cr3t-value');
    expect(agent.list().map((status) => status.id)).toEqual(['web-1']);
  });

  it('passes only the app environment plus PATH-like basics, never the control plane environment', async () => {
    process.env.MAESTRO_CONTROL_PLANE_SECRET = 'do-not-leak';
    try {
      const agent = sandbox.agent();
      const spec = replicaSpec('env-1', 'never-listens.mjs', {
        command: 'echo "secret=${MAESTRO_CONTROL_PLANE_SECRET:-unset} app=$APP_MODE port=$PORT"; exec sleep 30',
        env: { APP_MODE: 'blue' },
      });
      const status = await agent.start(spec);
      const line = `secret=unset app=blue port=${status.port}`;
      await expect.poll(() => readFileSync(agent.logFile('env-1'), 'utf8'), { timeout: 3000 }).toContain(line);
    } finally {
      delete process.env.MAESTRO_CONTROL_PLANE_SECRET;
    }
  });

  it('hands out a different port to each replica', async () => {
    const agent = sandbox.agent();
    const ports = new Set<number>();
    for (const id of ['a-1', 'a-2', 'a-3']) ports.add((await agent.start(replicaSpec(id, 'ok.mjs'))).port);
    expect(ports.size).toBe(3);
    await Promise.all(['a-1', 'a-2', 'a-3'].map((id) => agent.waitHealthy(id, 5000)));
  });

  it('refuses a bad spec with a message naming the field', async () => {
    const agent = sandbox.agent();
    await expect(agent.start(replicaSpec('../escape', 'ok.mjs'))).rejects.toThrow(/id: must be 1-128 letters/);
    await expect(agent.start(replicaSpec('bad-1', 'ok.mjs', { port: 70000 }))).rejects.toThrow(/port:/);
    await expect(
      agent.start(replicaSpec('bad-2', 'ok.mjs', { health: { path: 'healthz', intervalMs: 1000, timeoutMs: 500, healthyThreshold: 1, unhealthyThreshold: 3 } })),
    ).rejects.toThrow(/health\.path: must start with "\/"/);
    await expect(agent.start(replicaSpec('bad-3', 'ok.mjs', { cwd: join(sandbox.root, 'missing') }))).rejects.toThrow(/is not a directory/);
    expect(agent.list()).toEqual([]);
  });

  it('refuses a second replica with the same id', async () => {
    const agent = sandbox.agent();
    await agent.start(replicaSpec('dup-1', 'ok.mjs'));
    await expect(agent.start(replicaSpec('dup-1', 'ok.mjs'))).rejects.toMatchObject({ code: 'conflict' });
  });

  it('reports an unknown replica as not_found', async () => {
    const agent = sandbox.agent();
    await expect(agent.waitHealthy('nobody', 1000)).rejects.toThrow(MaestroError);
    await expect(agent.waitHealthy('nobody', 1000)).rejects.toMatchObject({ code: 'not_found' });
    expect(agent.get('nobody')).toBeUndefined();
    await agent.stop('nobody');
  });
});

describe('fixed ports', () => {
  let foreign: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (foreign ? foreign.close(() => resolve()) : resolve()));
    foreign = undefined;
  });

  it('runs an app on its fixed port and refuses a second replica on that port before spawning', async () => {
    const agent = sandbox.agent();
    const port = await freePort();
    const first = await agent.start(replicaSpec('fixed-1', 'fixed-port.mjs', { port, env: { LISTEN_PORT: String(port) } }));
    expect(first.port).toBe(port);
    await agent.waitHealthy('fixed-1', 5000);

    const error = await agent.start(replicaSpec('fixed-2', 'fixed-port.mjs', { port, env: { LISTEN_PORT: String(port) } })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MaestroError);
    expect((error as MaestroError).code).toBe('conflict');
    expect((error as MaestroError).message).toContain(`port ${port} is already in use by replica fixed-1`);
    expect(agent.get('fixed-2')).toBeUndefined();
  });

  it('refuses a fixed port another process listens on', async () => {
    const agent = sandbox.agent();
    foreign = createServer();
    await new Promise<void>((resolve) => foreign!.listen(0, '127.0.0.1', resolve));
    const port = (foreign.address() as { port: number }).port;
    await expect(agent.start(replicaSpec('fixed-3', 'fixed-port.mjs', { port, env: { LISTEN_PORT: String(port) } }))).rejects.toThrow(
      `port ${port} is already in use by another process on this machine`,
    );
    expect(agent.list()).toEqual([]);
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
