import { LIFECYCLE_EVENT_TYPES } from '../../src/events/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, exampleCopy, routerGet, startTestMaestro, steadyLoad, stopTestMaestro, versionOf, type TestMaestro } from './harness.js';

const HOST = 'web.production.hello.localhost';

const CANARY = `    strategy:
      type: canary
      steps: [{weight: 20}, {pause: 2s}, {weight: 50}, {pause: 2s}]
      analysis: {interval: 500ms, min_requests: 20, checks: [{metric: error_rate, max: 1%}]}
      watch: 2s`;

const MANUAL = `    strategy:
      type: canary
      steps: [{weight: 20}, {pause: {}}]
      analysis: {interval: 500ms, min_requests: 5, checks: [{metric: error_rate, max: 5%}]}
      watch: 1s`;

/** node-hello at a version, with a strategy, optionally answering 500 to everything but its health check. */
function version(name: string, strategy: string, broken = false) {
  return exampleCopy('node-hello', {
    'maestro.yml': (text) => text.replace('APP_VERSION: v1', `APP_VERSION: ${name}`).replace('    strategy: immediate', strategy),
    ...(broken
      ? { 'server.js': (text: string) => text.replace("response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });", 'response.writeHead(500);') }
      : {}),
  });
}

describe('progressive delivery: canary with analysis', () => {
  let maestro: TestMaestro;
  beforeAll(async () => {
    maestro = await startTestMaestro();
    const first = await cli(['deploy', await version('v1', CANARY), '--json'], maestro.env);
    expect(first.code, first.stderr).toBe(0);
  });
  afterAll(async () => stopTestMaestro(maestro));

  it('walks a healthy canary through its steps to 100% without a failed request', async () => {
    const load = steadyLoad(maestro.routerPort, HOST, 4);
    const result = await cli(['deploy', await version('v2', CANARY), '--json'], maestro.env);
    const report = await load.stop();
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ status: 'succeeded', release: 2 });
    expect(report.failed).toEqual([]);
    const versions = new Set(report.bodies.map(versionOf));
    expect(versions).toEqual(new Set(['v1', 'v2']));
    expect(versionOf((await routerGet(maestro.routerPort, HOST)).body)).toBe('v2');
  }, 90_000);

  it('rolls a broken canary back on its own, with the figures that decided it', async () => {
    const load = steadyLoad(maestro.routerPort, HOST, 4);
    const result = await cli(['deploy', await version('v3', CANARY, true), '--json'], maestro.env);
    const report = await load.stop();
    expect(result.code).toBe(1);
    const outcome = JSON.parse(result.stdout) as { status: string; error: string };
    expect(outcome.status).toBe('rolled_back');
    expect(outcome.error).toMatch(/error rate/);
    // Users saw some errors from the canary's share before it was caught, never all of them.
    expect(report.failed.length).toBeLessThan(report.total / 4);
    expect(versionOf((await routerGet(maestro.routerPort, HOST)).body)).toBe('v2');
    const status = JSON.parse((await cli(['status', '--json'], maestro.env)).stdout) as { services: Array<{ release: number }> };
    expect(status.services[0]!.release).toBe(2);
    // The lifecycle is on record for webhooks and audits.
    const events = await maestro.store.lifecycle.list({ types: LIFECYCLE_EVENT_TYPES, deploymentId: JSON.parse(result.stdout).id as string });
    expect(events.map((event) => event.type)).toEqual(expect.arrayContaining(['deployment.started', 'deployment.step_progress', 'deployment.rolled_back']));
  }, 90_000);

  it('waits at a manual pause for maestro promote', async () => {
    // Traffic, so the analysis has something to judge: a promote is taken once the canary passes.
    const load = steadyLoad(maestro.routerPort, HOST, 2);
    const pending = cli(['deploy', await version('v4', MANUAL), '--json'], maestro.env);
    await waitForSplit(maestro);
    const status = JSON.parse((await cli(['rollout', 'status', '--service', 'web', '--project', 'hello', '--json'], maestro.env)).stdout) as {
      strategy: string;
      weights: Array<{ weight: number }>;
    };
    expect(status.strategy).toBe('canary');
    expect(status.weights.map((w) => w.weight)).toEqual([80, 20]);
    const promote = await cli(['promote', '--service', 'web', '--project', 'hello', '--json'], maestro.env);
    expect(promote.code, promote.stderr).toBe(0);
    const result = await pending;
    const report = await load.stop();
    expect(report.failed).toEqual([]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(versionOf((await routerGet(maestro.routerPort, HOST)).body)).toBe('v4');
  }, 90_000);

  it('maestro abort sends everything back to the stable revision at once', async () => {
    const pending = cli(['deploy', await version('v5', MANUAL), '--json'], maestro.env);
    await waitForSplit(maestro);
    const abort = await cli(['abort', '--service', 'web', '--project', 'hello', '--reason', 'not today', '--json'], maestro.env);
    expect(abort.code, abort.stdout + abort.stderr).toBe(0);
    expect(JSON.parse(abort.stdout)).toMatchObject({ status: 'rolled_back' });
    const result = await pending;
    expect(result.code).toBe(1);
    for (let i = 0; i < 20; i += 1) expect(versionOf((await routerGet(maestro.routerPort, HOST)).body)).toBe('v4');
    const nothing = await cli(['abort', '--service', 'web', '--project', 'hello'], maestro.env);
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toContain('no rollout in progress');
  }, 90_000);
});

/** Until the router splits traffic between two revisions. */
async function waitForSplit(maestro: TestMaestro): Promise<void> {
  for (let i = 0; i < 300; i += 1) {
    const shift = (await maestro.store.traffic.list())[0];
    if (shift && shift.weight > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the canary never took traffic');
}
