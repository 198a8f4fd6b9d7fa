import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, exampleCopy, routerGet, startTestMaestro, steadyLoad, stopTestMaestro, versionOf, type TestMaestro } from './harness.js';

const HOST = 'web.production.hello.localhost';
const PREVIEW = 'web.preview.production.hello.localhost';

const version = (name: string, strategy: string, replicas = 1) =>
  exampleCopy('node-hello', {
    'maestro.yml': (text) =>
      text
        .replace('APP_VERSION: v1', `APP_VERSION: ${name}`)
        .replace('    strategy: immediate', strategy)
        .replace('    start: node server.js', `    start: node server.js\n    replicas: ${replicas}`),
  });

describe('blue/green and rolling rollouts', () => {
  let maestro: TestMaestro;
  beforeAll(async () => {
    maestro = await startTestMaestro();
  });
  afterAll(async () => stopTestMaestro(maestro));

  it('blue/green: the new revision answers at its preview address until it is promoted', async () => {
    const strategy = '    strategy: {type: blue_green, preview: true, scale_down_delay: 1m}';
    expect((await cli(['deploy', await version('v1', strategy), '--json'], maestro.env)).code).toBe(0);
    const pending = cli(['deploy', await version('v2', strategy), '--json'], maestro.env);
    let preview = '';
    for (let i = 0; i < 200 && versionOf(preview) !== 'v2'; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      preview = (await routerGet(maestro.routerPort, PREVIEW)).body;
    }
    expect(versionOf(preview)).toBe('v2');
    expect(versionOf((await routerGet(maestro.routerPort, HOST)).body)).toBe('v1');
    const load = steadyLoad(maestro.routerPort, HOST, 4);
    const promote = await cli(['promote', '--service', 'web', '--project', 'hello'], maestro.env);
    expect(promote.code, promote.stderr).toBe(0);
    const result = await pending;
    const report = await load.stop();
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(report.failed).toEqual([]);
    expect(versionOf((await routerGet(maestro.routerPort, HOST)).body)).toBe('v2');
  }, 90_000);

  it('rolling: replaces three replicas batch by batch with no failed request', async () => {
    const strategy = '    strategy: {type: rolling, max_surge: 1, max_unavailable: 0}';
    expect((await cli(['deploy', await version('v3', strategy, 3), '--json'], maestro.env)).code).toBe(0);
    const load = steadyLoad(maestro.routerPort, HOST, 4);
    const result = await cli(['deploy', await version('v4', strategy, 3), '--json'], maestro.env);
    const report = await load.stop();
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(report.failed).toEqual([]);
    expect(new Set(report.bodies.map(versionOf))).toEqual(new Set(['v3', 'v4']));
    const status = JSON.parse((await cli(['status', '--json'], maestro.env)).stdout) as { services: Array<{ replicas: Array<{ state: string }> }> };
    expect(status.services[0]!.replicas.filter((r) => r.state === 'healthy')).toHaveLength(3);
  }, 90_000);
});
