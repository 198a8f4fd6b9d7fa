import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { freePort } from '../../src/server/process-util.js';
import { CLI, EXAMPLES, cli, exampleCopy, routerGet, steadyLoad, versionOf } from './harness.js';

const HOST = 'web.production.hello.localhost';

/** `maestro up` as its own process, the way a person runs it. */
async function up(dataDir: string, apiPort: number, routerPort: number, adminPort: number): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', CLI, 'up', '--data-dir', dataDir, '--api-port', String(apiPort), '--router-port', String(routerPort), '--router-admin-port', String(adminPort), '--start-timeout', '20s'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MAESTRO_LOG_LEVEL: 'warn' } },
  );
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`maestro up exited: ${output}`);
    try {
      const response = await request(`http://127.0.0.1:${apiPort}/healthz`);
      await response.body.dump();
      if (response.statusCode === 200) return child;
    } catch {
      // not yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`maestro up did not answer: ${output}`);
}

describe('surviving a control-plane crash', () => {
  let dataDir: string;
  let controlPlane: ChildProcess | undefined;
  let env: Record<string, string>;

  afterAll(async () => {
    if (controlPlane && controlPlane.exitCode === null) {
      controlPlane.kill('SIGTERM');
      await new Promise((resolve) => controlPlane!.once('exit', resolve));
    }
    await cli(['down', '--data-dir', dataDir]);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps serving through SIGKILL, and a restarted control plane adopts the replicas and resumes the cut-off build', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'maestro-crash-'));
    const [apiPort, routerPort, adminPort] = [await freePort(), await freePort(), await freePort()];
    controlPlane = await up(dataDir, apiPort, routerPort, adminPort);
    env = { MAESTRO_URL: `http://127.0.0.1:${apiPort}`, MAESTRO_TOKEN: (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim() };

    const first = await cli(['deploy', join(EXAMPLES, 'node-hello'), '--json'], env);
    expect(first.code, first.stderr).toBe(0);
    const before = JSON.parse((await cli(['status', '--json'], env)).stdout) as { services: Array<{ replicas: Array<{ pid: number }> }> };
    const pidsBefore = before.services[0]!.replicas.map((r) => r.pid);

    // A deployment whose build is still running when the control plane dies.
    const slow = await exampleCopy('node-hello', {
      // Long enough that a busy machine (the suite runs two files at once) cannot finish it between two polls.
      'maestro.yml': (text) => text.replace('    start: node server.js', '    build:\n      command: sleep 12 && echo built > built.txt\n    start: node server.js'),
    });
    const pending = cli(['deploy', slow, '--json'], env);
    const load = steadyLoad(routerPort, HOST, 4);
    const listDeployments = async () =>
      (await (await request(`http://127.0.0.1:${apiPort}/v1/deployments?project=hello`, { headers: { authorization: `Bearer ${env.MAESTRO_TOKEN}` } })).body.json()) as {
        deployments: Array<{ status: string; error: string | null }>;
      };
    const buildStep = async () => {
      const { builds } = (await (await request(`http://127.0.0.1:${apiPort}/v1/builds?project=hello`, { headers: { authorization: `Bearer ${env.MAESTRO_TOKEN}` } })).body.json()) as {
        builds: Array<{ steps: Array<{ name: string; status: string }> }>;
      };
      return builds[0]?.steps.find((step) => step.name === 'build')?.status;
    };
    // Killed while the build step runs.
    const deadline = Date.now() + 60_000;
    while ((await buildStep()) !== 'running' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    expect(await buildStep(), 'the build step should be running when the control plane is killed').toBe('running');
    controlPlane.kill('SIGKILL');
    await new Promise((resolve) => controlPlane!.once('exit', resolve));
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const duringOutage = await routerGet(routerPort, HOST);
    expect(duringOutage.status).toBe(200);

    controlPlane = await up(dataDir, apiPort, routerPort, adminPort);
    // Adopted, not restarted: the same processes serve (the resumed build is still running).
    const adopted = JSON.parse((await cli(['status', '--json'], env)).stdout) as { services: Array<{ release: number; replicas: Array<{ pid: number }> }> };
    expect(adopted.services[0]!.release).toBe(1);
    expect(adopted.services[0]!.replicas.map((r) => r.pid)).toEqual(pidsBefore);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const report = await load.stop();

    expect(report.failed).toEqual([]);
    expect(report.total).toBeGreaterThan(100);
    expect(report.bodies.every((body) => versionOf(body) === 'v1')).toBe(true);

    // The cut-off deployment resumed: its interrupted build step ran again and it went live.
    const resumed = await pending;
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ status: 'succeeded', release: 2 });
    const builds = JSON.parse((await cli(['builds', '--project', 'hello', '--json'], env)).stdout) as {
      builds: Array<{ status: string; steps: Array<{ name: string; status: string; attempt: number }> }>;
    };
    expect(builds.builds[0]!.status).toBe('succeeded');
    expect(builds.builds[0]!.steps.find((step) => step.name === 'build')).toMatchObject({ status: 'succeeded', attempt: 2 });

    const after = JSON.parse((await cli(['status', '--json'], env)).stdout) as {
      services: Array<{ status: string; release: number; replicas: Array<{ pid: number }> }>;
    };
    expect(after.services[0]).toMatchObject({ status: 'serving', release: 2 });
    const list = await listDeployments();
    expect(list.deployments.filter((d) => ['pending', 'building', 'deploying'].includes(d.status))).toEqual([]);

    // And it goes on working: a new deploy succeeds.
    const next = await cli(['deploy', await exampleCopy('node-hello', { 'maestro.yml': (t) => t.replace('APP_VERSION: v1', 'APP_VERSION: v3') }), '--json'], env);
    expect(next.code, next.stderr).toBe(0);
    expect(versionOf((await routerGet(routerPort, HOST)).body)).toBe('v3');
  }, 180_000);
});
