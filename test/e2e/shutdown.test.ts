// Stopping Maestro while a canary waits for `maestro promote` must not hang, and must not end the
// rollout: the next start resumes it where it was.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, exampleCopy, routerGet, startTestMaestro, versionOf, type TestMaestro } from './harness.js';

const HOST = 'web.production.hello.localhost';

const MANUAL = `    strategy:
      type: canary
      steps: [{weight: 20}, {pause: {}}]
      analysis: {interval: 500ms, min_requests: 1, checks: [{metric: error_rate, max: 50%}]}
      watch: 1s`;

function version(name: string) {
  return exampleCopy('node-hello', {
    'maestro.yml': (text) => text.replace('APP_VERSION: v1', `APP_VERSION: ${name}`).replace('    strategy: immediate', MANUAL),
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 300; i += 1) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`gave up waiting: ${what}`);
}

describe('stopping Maestro in the middle of a rollout', () => {
  let maestro: TestMaestro | undefined;
  let dataDir: string;
  afterAll(async () => {
    await maestro?.stop({ stopApps: true });
    await rm(dataDir, { recursive: true, force: true });
  });

  it('stops without waiting for a paused canary, and the next start resumes it to promotion', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'maestro-shutdown-'));
    maestro = await startTestMaestro({ dataDir });
    const first = await cli(['deploy', await version('v1'), '--json'], maestro.env);
    expect(first.code, first.stderr).toBe(0);
    const second = await cli(['deploy', await version('v2'), '--no-wait', '--json'], maestro.env);
    expect(second.code, second.stderr).toBe(0);
    const deploymentId = (JSON.parse(second.stdout) as { id: string }).id;
    const running = maestro;
    await until('the canary to take 20%', async () => ((await running.store.traffic.list())[0]?.weight === 20 ? true : undefined));

    // Ctrl-C: the control plane, the router and the apps stop; the test's timeout is the hang check.
    await maestro.stop({ stopApps: true });
    maestro = undefined;

    maestro = await startTestMaestro({ dataDir });
    const restarted = maestro;
    expect((await restarted.store.deployments.get(deploymentId))?.status).toBe('deploying');
    await until('the resumed canary to take 20% again', async () => ((await restarted.store.traffic.list())[0]?.weight === 20 ? true : undefined));
    expect(versionOf((await routerGet(restarted.routerPort, HOST, '/', { 'x-maestro-revision': 'stable' })).body)).toBe('v1');

    const promote = await cli(['promote', '--service', 'web', '--project', 'hello', '--full', '--json'], restarted.env);
    expect(promote.code, promote.stdout + promote.stderr).toBe(0);
    const done = await until('the deployment to end', async () => {
      const deployment = await restarted.store.deployments.get(deploymentId);
      return deployment && ['succeeded', 'failed', 'rolled_back'].includes(deployment.status) ? deployment : undefined;
    });
    expect(done.status, done.error).toBe('succeeded');
    expect(versionOf((await routerGet(restarted.routerPort, HOST)).body)).toBe('v2');
  }, 120_000);
});
