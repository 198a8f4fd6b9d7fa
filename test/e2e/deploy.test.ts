import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, exampleCopy, routerGet, startTestMaestro, steadyLoad, stopTestMaestro, versionOf, EXAMPLES, type TestMaestro } from './harness.js';
import { join } from 'node:path';

const HOST = 'web.production.hello.localhost';
const withVersion = (version: string) => ({ 'maestro.yml': (text: string) => text.replace('APP_VERSION: v1', `APP_VERSION: ${version}`) });

describe('deploy, replace and roll back the dependency-free example', () => {
  let maestro: TestMaestro;
  beforeAll(async () => {
    maestro = await startTestMaestro();
  });
  afterAll(async () => stopTestMaestro(maestro));

  const deploy = async (dir: string) => {
    const result = await cli(['deploy', dir, '--json'], maestro.env);
    return { ...result, json: result.stdout ? (JSON.parse(result.stdout) as Record<string, unknown>) : undefined };
  };

  it('deploys v1 and serves it at <service>.<environment>.<project>.localhost', async () => {
    const result = await deploy(join(EXAMPLES, 'node-hello'));
    expect(result.code, result.stderr).toBe(0);
    expect(result.json).toMatchObject({ status: 'succeeded', release: 1, url: `http://${HOST}:${maestro.routerPort}/` });
    const answer = await routerGet(maestro.routerPort, HOST);
    expect(answer.status).toBe(200);
    expect(versionOf(answer.body)).toBe('v1');
    expect(answer.headers['x-request-id']).toBeTruthy();

    const status = await cli(['status', '--json'], maestro.env);
    const services = (JSON.parse(status.stdout) as { services: Array<Record<string, unknown>> }).services;
    expect(services).toHaveLength(1);
    expect(services[0]).toMatchObject({ project: 'hello', service: 'web', status: 'serving', release: 1, revision: result.json!.revision });
  });

  it('replaces v1 with v2 under steady load without a failed request', async () => {
    const load = steadyLoad(maestro.routerPort, HOST);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const result = await deploy(await exampleCopy('node-hello', withVersion('v2')));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const report = await load.stop();
    expect(result.code, result.stderr).toBe(0);
    expect(result.json).toMatchObject({ status: 'succeeded', release: 2 });
    expect(report.failed).toEqual([]);
    expect(report.total).toBeGreaterThan(50);
    expect(versionOf(report.bodies.at(-1)!)).toBe('v2');
    // The switch is atomic: once v2 has answered, every request sent after that is answered by v2
    // (requests already in flight to v1 finish on v1).
    const firstV2 = Math.min(...report.answers.filter((a) => versionOf(a.body) === 'v2').map((a) => a.endedAt));
    const later = report.answers.filter((a) => a.startedAt > firstV2);
    expect(later.length).toBeGreaterThan(0);
    expect(later.filter((a) => versionOf(a.body) !== 'v2')).toEqual([]);
  });

  it('rolls back to the warm previous revision, and the very next request is served by it', async () => {
    const result = await cli(['rollback', '--service', 'web', '--project', 'hello', '--json'], maestro.env);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ release: 3, from: 2, warm: true });
    expect(versionOf((await routerGet(maestro.routerPort, HOST)).body)).toBe('v1');

    const releases = JSON.parse((await cli(['releases', '--service', 'web', '--project', 'hello', '--json'], maestro.env)).stdout) as {
      releases: Array<{ number: number; kind: string; live: boolean }>;
    };
    expect(releases.releases.map((r) => [r.number, r.kind, r.live])).toEqual([
      [3, 'rollback', true],
      [2, 'deploy', false],
      [1, 'deploy', false],
    ]);
    const deployments = await maestro.plane.listDeployments({ project: 'hello' });
    expect(deployments.find((d) => d.release === 2)?.status).toBe('rolled_back');
  });

  it('starts an older release again from its artifact and configuration when it is no longer warm', async () => {
    const v3 = await deploy(await exampleCopy('node-hello', withVersion('v3')));
    expect(v3.json).toMatchObject({ status: 'succeeded', release: 4 });
    // v1 is now the warm one; release 2 (v2) was stopped.
    const result = await cli(['rollback', '--service', 'web', '--project', 'hello', '--to', '2', '--json'], maestro.env);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ release: 5, warm: false });
    expect(versionOf((await routerGet(maestro.routerPort, HOST)).body)).toBe('v2');
  });

  it('fails a deploy whose app exits at once, says why, and keeps the previous revision serving', async () => {
    const broken = await exampleCopy('node-hello', {
      'maestro.yml': (text) => text.replace('start: node server.js', `start: node -e "console.error('cannot connect to the database'); process.exit(3)"`),
    });
    const load = steadyLoad(maestro.routerPort, HOST, 4);
    const result = await deploy(broken);
    const report = await load.stop();
    expect(result.code).toBe(1);
    expect(result.json!.status).toBe('failed');
    expect(String(result.json!.error)).toMatch(/exit|crash/i);
    expect(report.failed).toEqual([]);
    expect(versionOf((await routerGet(maestro.routerPort, HOST)).body)).toBe('v2');
  });

  it('fails a deploy whose app never listens, within the start timeout', async () => {
    const silent = await exampleCopy('node-hello', {
      'maestro.yml': (text) => text.replace('start: node server.js', `start: node -e "setInterval(() => {}, 1000)"`),
    });
    const result = await deploy(silent);
    expect(result.code).toBe(1);
    expect(String(result.json!.error)).toMatch(/never|did not|healthy/i);
    expect(versionOf((await routerGet(maestro.routerPort, HOST)).body)).toBe('v2');
  });

  it('runs the release command before traffic moves, and moves nothing when it fails', async () => {
    const failing = await exampleCopy('node-hello', {
      'maestro.yml': (text) => text.replace('    start: node server.js', '    start: node server.js\n    release: echo migrating && exit 4').replace('APP_VERSION: v1', 'APP_VERSION: v9'),
    });
    const result = await deploy(failing);
    expect(result.code).toBe(1);
    expect(String(result.json!.error)).toContain('release command');
    expect(versionOf((await routerGet(maestro.routerPort, HOST)).body)).toBe('v2');

    const passing = await exampleCopy('node-hello', {
      'maestro.yml': (text) => text.replace('    start: node server.js', '    start: node server.js\n    release: echo migrated > migrated.txt').replace('APP_VERSION: v1', 'APP_VERSION: v10'),
    });
    const ok = await deploy(passing);
    expect(ok.code, ok.stderr).toBe(0);
    expect(versionOf((await routerGet(maestro.routerPort, HOST)).body)).toBe('v10');
  });

  it('rejects an invalid manifest before uploading, with file:line:col for every problem', async () => {
    const invalid = await exampleCopy('node-hello', {
      'maestro.yml': () => 'project: hello\nservices:\n  web:\n    start: node server.js\n    replicas: three\n    helth: {path: /}\n',
    });
    const result = await cli(['deploy', invalid], maestro.env);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/maestro\.yml:5:15: .*replicas/);
    expect(result.stderr).toMatch(/maestro\.yml:6:5: .*did you mean .*health/);
    const validate = await cli(['validate', join(invalid, 'maestro.yml')]);
    expect(validate.code).toBe(1);
  });

  it('explains unknown projects and services', async () => {
    const result = await cli(['releases', '--service', 'web', '--project', 'nope'], maestro.env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('no project "nope"');
    const service = await cli(['rollback', '--service', 'api', '--project', 'hello'], maestro.env);
    expect(service.stderr).toContain('has no service "api"');
  });
});
