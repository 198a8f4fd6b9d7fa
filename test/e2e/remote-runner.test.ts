import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, cli, exampleCopy, routerGet, startTestMaestro, stopTestMaestro, versionOf, type TestMaestro } from './harness.js';

const serverUrl = process.env.MAESTRO_TEST_DATABASE_URL;
if (!serverUrl) console.warn('remote runner test skipped: set MAESTRO_TEST_DATABASE_URL to a Postgres server to run it');

describe.skipIf(!serverUrl)('a runner on another machine, sharing the control plane\'s Postgres', () => {
  let maestro: TestMaestro;
  let runner: ChildProcess;
  let runnerDir: string;
  const schema = `maestro_runner_${randomBytes(5).toString('hex')}`;
  let databaseUrl: string;

  beforeAll(async () => {
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.end();
    const url = new URL(serverUrl!);
    url.searchParams.set('options', `-c search_path=${schema}`);
    databaseUrl = url.toString();
    // This control plane builds nothing itself: every build goes to the runner.
    maestro = await startTestMaestro({ databaseUrl, buildConcurrency: 0 });
    runnerDir = await mkdtemp(join(tmpdir(), 'maestro-runner-'));
    runner = spawn(process.execPath, ['--import', 'tsx', CLI, 'runner', '--database-url', databaseUrl, '--data-dir', runnerDir], {
      env: { ...process.env, ...maestro.env, MAESTRO_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  });

  afterAll(async () => {
    runner?.kill('SIGTERM');
    if (runner && runner.exitCode === null) await new Promise((resolve) => runner.once('exit', resolve));
    await stopTestMaestro(maestro);
    await rm(runnerDir, { recursive: true, force: true });
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
  });

  it('takes the build from the queue, fetches the source and uploads the artifact the control plane deploys', async () => {
    const dir = await exampleCopy('node-hello', {
      'maestro.yml': (text) => text.replace('    start: node server.js', '    build:\n      command: echo built-by-runner > built.txt\n    start: node server.js'),
    });
    const result = await cli(['deploy', dir, '--json'], maestro.env);
    expect(result.code, result.stderr).toBe(0);
    expect(versionOf((await routerGet(maestro.routerPort, 'web.production.hello.localhost')).body)).toBe('v1');
    const [build] = await maestro.store.builds.recent({ limit: 1 });
    const job = await maestro.store.jobs.forBuild(build!.id);
    expect(job!.leaseOwner).toMatch(/^runner:/);
    expect(await maestro.plane.artifacts.has(build!.artifactDigest!)).toBe(true);
  }, 60_000);

  it('refuses an artifact whose bytes do not match its digest', async () => {
    const response = await request(`${maestro.apiUrl}/v1/artifacts/${'0'.repeat(64)}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${maestro.token}`, 'content-type': 'application/octet-stream' },
      body: Buffer.from('not what the digest says'),
    });
    expect(response.statusCode).toBe(400);
    expect(((await response.body.json()) as { error: { message: string } }).error.message).toContain('does not match its digest');
    expect(await maestro.plane.artifacts.has('0'.repeat(64))).toBe(false);
  });
});
