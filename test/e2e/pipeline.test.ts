import { createServer, type Server } from 'node:http';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectSandbox } from '../../src/build/index.js';
import { ArtifactRetention } from '../../src/server/artifact-retention.js';
import { cli, exampleCopy, routerGet, startTestMaestro, stopTestMaestro, versionOf, type TestMaestro } from './harness.js';

interface BuildView {
  id: string;
  status: string;
  error: string | null;
  attempts: number;
  steps: Array<{ name: string; status: string; cache: string | null; attempt: number; exitCode: number | null }>;
}

const withBuild = (build: string, version = 'v1') => ({
  'maestro.yml': (text: string) => text.replace('    start: node server.js', `    build:\n${build}\n    start: node server.js`).replace('APP_VERSION: v1', `APP_VERSION: ${version}`),
});

describe('build pipelines', () => {
  let maestro: TestMaestro;
  let flaky: Server;
  let flakyCalls = 0;
  const sandboxed = detectSandbox().then((d) => d.available);

  beforeAll(async () => {
    maestro = await startTestMaestro();
    // A registry that fails the first time, as networks do.
    flaky = createServer((_request, response) => {
      flakyCalls += 1;
      response.writeHead(flakyCalls === 1 ? 503 : 200).end(flakyCalls === 1 ? 'busy' : 'ok');
    });
    await new Promise<void>((resolve) => flaky.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    flaky.close();
    await stopTestMaestro(maestro);
  });

  const builds = async (): Promise<BuildView[]> =>
    (JSON.parse((await cli(['builds', '--project', 'hello', '--json'], maestro.env)).stdout) as { builds: BuildView[] }).builds;

  it('records install, build, test and package, and skips all of them for an unchanged source', async () => {
    const dir = await exampleCopy('node-hello', withBuild('      install: echo installing\n      command: echo built > built.txt\n      test: test -f built.txt'));
    const first = await cli(['deploy', dir, '--json'], maestro.env);
    expect(first.code, first.stderr).toBe(0);
    const [built] = await builds();
    expect(built!.status).toBe('succeeded');
    expect(built!.steps.map((s) => [s.name, s.status])).toEqual([
      ['install', 'succeeded'],
      ['build', 'succeeded'],
      ['test', 'succeeded'],
      ['package', 'succeeded'],
    ]);

    const again = await cli(['deploy', dir, '--json'], maestro.env);
    expect(again.code, again.stderr).toBe(0);
    const [reused] = await builds();
    expect(reused!.id).not.toBe(built!.id);
    expect(reused!.steps.every((s) => s.status === 'skipped' && s.cache === 'hit')).toBe(true);

    const logs = await cli(['build', 'logs', built!.id], maestro.env);
    expect(logs.stdout).toContain('[install] installing');
  }, 60_000);

  it('fails a deploy whose test step fails, without retrying it, and the previous release keeps serving', async () => {
    const dir = await exampleCopy('node-hello', withBuild('      test: echo "1 test failed" && exit 1', 'v2'));
    const result = await cli(['deploy', dir, '--json'], maestro.env);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout).error).toMatch(/build step "test".*exit code 1: 1 test failed/);
    const [failed] = await builds();
    expect(failed).toMatchObject({ status: 'failed', attempts: 1 });
    expect(versionOf((await routerGet(maestro.routerPort, 'web.production.hello.localhost')).body)).toBe('v1');
  });

  it('fails a deploy whose lockfile does not match package.json at once, saying what to fix, and the previous release keeps serving', async () => {
    const packageJson = { name: 'node-hello', version: '1.0.0', private: true, type: 'module', dependencies: { 'left-pad': '^1.3.0' } };
    const lockfile = { name: 'node-hello', version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'node-hello', version: '1.0.0' } } };
    const dir = await exampleCopy('node-hello', {
      ...withBuild('      install: npm ci', 'v7'),
      'package.json': () => JSON.stringify(packageJson, null, 2),
      'package-lock.json': () => JSON.stringify(lockfile, null, 2),
    });
    const expected =
      'package-lock.json does not match package.json: "left-pad" (^1.3.0) is in package.json but not in the lockfile; run npm install and commit package-lock.json';
    const result = await cli(['deploy', dir, '--json'], maestro.env);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout).error).toContain(expected);
    const [failed] = await builds();
    expect(failed).toMatchObject({ status: 'failed', attempts: 1, error: expected });
    const steps = await maestro.store.buildSteps.list(failed!.id);
    expect(steps.find((step) => step.name === 'install')).toMatchObject({ status: 'failed', error: expected });
    expect(versionOf((await routerGet(maestro.routerPort, 'web.production.hello.localhost')).body)).toBe('v1');
  });

  it('retries an install that failed on the network, and succeeds', async () => {
    const port = (flaky.address() as { port: number }).port;
    const install = `      install: node -e "fetch('http://127.0.0.1:${port}/').then(r => { if (r.status !== 200) { console.error('npm ERR! network ECONNRESET'); process.exit(1) } })"`;
    const result = await cli(['deploy', await exampleCopy('node-hello', withBuild(install, 'v3')), '--json'], maestro.env);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const [retried] = await builds();
    expect(retried).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(flakyCalls).toBe(2);
  }, 60_000);

  it('cancels a running build and stops its processes', async () => {
    const dir = await exampleCopy('node-hello', withBuild('      command: sleep 60', 'v4'));
    const queued = await cli(['deploy', dir, '--no-wait', '--json'], maestro.env);
    expect(queued.code, queued.stderr).toBe(0);
    let running: BuildView | undefined;
    for (let i = 0; i < 200 && running?.steps.find((s) => s.name === 'build')?.status !== 'running'; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      running = (await builds())[0];
    }
    const cancelled = await cli(['build', 'cancel', running!.id, '--json'], maestro.env);
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(JSON.parse(cancelled.stdout).status).toBe('cancelled');
    await maestro.plane.idle();
    const deployment = await maestro.plane.getDeployment(JSON.parse(queued.stdout).id);
    expect(deployment.status).toBe('cancelled');
  });

  it('runs builds in a sandbox: no writes outside the work folder, no reading Maestro\'s data', async ({ skip }) => {
    if (!(await sandboxed)) skip('bubblewrap is not available here');
    const escape = `/etc/maestro-escape-${Date.now()}`;
    const write = await cli(['deploy', await exampleCopy('node-hello', withBuild(`      command: touch ${escape}`, 'v5')), '--json'], maestro.env);
    expect(write.code).toBe(1);
    expect(existsSync(escape)).toBe(false);
    const read = await cli(['deploy', await exampleCopy('node-hello', withBuild(`      command: cat ${maestro.paths.adminToken}`, 'v6')), '--json'], maestro.env);
    expect(read.code).toBe(1);
    expect(JSON.parse(read.stdout).error).toMatch(/No such file/);
  });
});

describe('artifact retention', () => {
  let maestro: TestMaestro;
  beforeAll(async () => {
    maestro = await startTestMaestro();
  });
  afterAll(async () => stopTestMaestro(maestro));

  it('removes only artifacts nothing uses: never the live, warm or recent-release ones', async () => {
    for (const version of ['v1', 'v2', 'v3']) {
      const result = await cli(['deploy', await exampleCopy('node-hello', withBuild('      command: echo built', version)), '--json'], maestro.env);
      expect(result.code, result.stderr).toBe(0);
    }
    const listed = JSON.parse((await cli(['artifacts', 'ls', '--json'], maestro.env)).stdout) as { artifacts: Array<{ digest: string; inUse: boolean }> };
    expect(listed.artifacts).toHaveLength(3);
    expect(listed.artifacts.every((a) => a.inUse)).toBe(true);

    // Keeping only the latest release: v3 (live) and v2 (warm) stay, v1 may go.
    const strict = new ArtifactRetention(maestro.store, maestro.plane.artifacts, 1);
    const swept = await strict.sweep(0);
    expect(swept.removed).toBe(1);
    const left = await strict.list();
    expect(left.map((a) => a.digest)).toEqual(listed.artifacts.slice(1).map((a) => a.digest));
    expect(await maestro.plane.artifacts.has(listed.artifacts[0]!.digest)).toBe(false);
    expect(versionOf((await routerGet(maestro.routerPort, 'web.production.hello.localhost')).body)).toBe('v3');
  });
});
