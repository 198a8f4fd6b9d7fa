import { existsSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packSource } from '../../src/build/index.js';
import type { DestroyReport, GcReport, PreviewView, SettingsView } from '../../src/previews/index.js';
import { cli, EXAMPLES, exampleCopy, routerGet, startTestMaestro, stopTestMaestro, type TestMaestro } from './harness.js';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Every file under a folder, relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  return (await readdir(dir, { recursive: true })).map(String);
}

describe('a preview environment, from deploy to complete destruction', () => {
  let maestro: TestMaestro;
  const api = async <T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> => {
    const response = await request(`${maestro.apiUrl}${path}`, {
      method: method as 'GET',
      headers: { authorization: `Bearer ${maestro.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.statusCode, body: (await response.body.json()) as T };
  };

  beforeAll(async () => {
    maestro = await startTestMaestro();
  });
  afterAll(async () => stopTestMaestro(maestro));

  it('serves at its own URL, then leaves no process, route, file or record behind', { timeout: 120_000 }, async () => {
    expect((await api('POST', '/v1/projects', { name: 'hello' })).status).toBe(201);

    // Project settings, through the command line as people change them.
    const set = await cli(['projects', 'set', 'hello', '--max-previews', '3', '--preview-ttl', '24h', '--json'], maestro.env);
    expect(set.stderr).toBe('');
    expect(JSON.parse(set.stdout) as SettingsView).toMatchObject({ productionBranch: 'main', previewTtl: '24h', maxPreviews: 3, previewIdle: null });

    // What the push intake does for a branch other than the production branch.
    const opened = await maestro.plane.previews.open('hello', { kind: 'branch', branch: 'feat/try-it', sha: '1'.repeat(40), origin: 'push' });
    const name = opened.preview.name;
    expect(name).toMatch(/^feat-try-it-[0-9a-f]{6}$/);

    const packed = await packSource(join(EXAMPLES, 'node-hello'));
    const upload = await request(`${maestro.apiUrl}/v1/sources`, {
      method: 'POST',
      headers: { authorization: `Bearer ${maestro.token}`, 'content-type': 'application/gzip' },
      body: packed.archive,
    });
    const { digest } = (await upload.body.json()) as { digest: string };
    const deploy = await api<{ deployments: Array<{ id: string; url: string }> }>('POST', '/v1/projects/hello/deployments', { source: digest, environment: name });
    expect(deploy.status).toBe(201);
    const [deployment] = deploy.body.deployments;
    expect(deployment!.url).toBe(`http://web.${name}.hello.localhost:${maestro.routerPort}/`);
    await maestro.plane.idle();
    expect((await maestro.plane.getDeployment(deployment!.id)).status).toBe('succeeded');

    const host = `web.${name}.hello.localhost`;
    const answer = await routerGet(maestro.routerPort, host);
    expect(answer.status).toBe(200);

    const listed = await cli(['previews', 'ls', '--project', 'hello', '--json'], maestro.env);
    const { previews } = JSON.parse(listed.stdout) as { previews: PreviewView[] };
    expect(previews).toEqual([expect.objectContaining({ name, branch: 'feat/try-it', head: '1'.repeat(40), urls: [`http://${host}:${maestro.routerPort}/`] })]);

    // Everything the preview has now, to check it is all gone afterwards.
    const environment = (await maestro.store.environments.get((await maestro.store.projects.get('hello'))!.id, name))!;
    const footprint = await maestro.store.previews.footprint(environment.id);
    const pids = maestro.plane.agent
      .list()
      .filter((replica) => footprint.revisionIds.includes(replica.revisionId))
      .map((replica) => replica.pid!);
    expect(pids.length).toBeGreaterThan(0);
    expect(pids.every(alive)).toBe(true);
    const { paths } = maestro;
    const mine = (files: string[]) => files.filter((file) => [...footprint.revisionIds, ...footprint.deploymentIds, ...footprint.buildIds].some((id) => file.startsWith(id)));
    expect(mine(await filesUnder(paths.revisions)).length).toBeGreaterThan(0);
    expect(mine(await filesUnder(paths.replicaLogs)).length).toBeGreaterThan(0);
    expect(mine(await filesUnder(paths.deploymentLogs)).length).toBeGreaterThan(0);

    const started = Date.now();
    const destroyed = await api<DestroyReport>('DELETE', `/v1/projects/hello/previews/${name}?reason=e2e`);
    const tookMs = Date.now() - started;
    expect(destroyed.status).toBe(200);
    expect(destroyed.body).toMatchObject({ name, environmentRemoved: true, problems: [], preview: { state: 'destroyed', destroyReason: 'e2e' } });
    expect(tookMs).toBeLessThan(60_000);

    expect(pids.filter(alive)).toEqual([]);
    expect([404, 502]).toContain((await routerGet(maestro.routerPort, host)).status);
    expect((await maestro.plane.routes.client.getRoutes()).routes.filter((route) => route.host === host)).toEqual([]);
    expect(mine(await filesUnder(paths.work))).toEqual([]);
    expect(mine(await filesUnder(paths.revisions))).toEqual([]);
    expect(mine(await filesUnder(paths.replicaLogs))).toEqual([]);
    expect(mine(await filesUnder(paths.deploymentLogs))).toEqual([]);
    expect(await maestro.store.environments.getById(environment.id)).toBeUndefined();
    expect(await maestro.store.deployments.get(deployment!.id)).toBeUndefined();

    const gc = await cli(['previews', 'gc', '--dry-run', '--json'], maestro.env);
    expect(JSON.parse(gc.stdout) as GcReport).toEqual({ environments: [], replicas: [], routes: [], workFolders: [], revisionFolders: [], logs: [], dryRun: true, problems: [] });
    const human = await cli(['previews', 'gc', '--dry-run'], maestro.env);
    expect(human.stdout.trim()).toBe('nothing to collect');

    // Destroying again is no error: there is nothing left to do.
    expect((await api<DestroyReport>('DELETE', `/v1/projects/hello/previews/${name}`)).body).toMatchObject({ alreadyDestroyed: true });
    expect((await api<{ previews: PreviewView[] }>('GET', '/v1/projects/hello/previews')).body.previews).toEqual([]);
  });

  it('answers with clear errors for unknown previews and bad settings', async () => {
    const missing = await api<{ error: { code: string; message: string } }>('POST', '/v1/projects/hello/previews/nope/extend', { by: '1h' });
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).toContain('no live preview "nope"');
    const bad = await api<{ error: { code: string; message: string } }>('PATCH', '/v1/projects/hello/settings', { previewTtl: 'forever' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toBe('previewTtl must be a duration like 30m, 24h or 7d, got "forever"');
    const usage = await cli(['projects', 'set', 'hello'], maestro.env);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('say what to change');
  });
});

describe('destroying a preview while it is still building and rolling out', () => {
  let maestro: TestMaestro;
  let dir: string | undefined;
  // A start timeout longer than the abort grace, so the stuck rollout does not end on its own first.
  beforeAll(async () => {
    maestro = await startTestMaestro({ startTimeoutMs: 50_000 });
  });
  afterAll(async () => {
    await stopTestMaestro(maestro);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Processes whose command line holds `marker` (the build step's sleep, the stuck app). */
  const processesWith = (marker: string): string[] =>
    execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.includes(marker) && !line.includes('ps -eo'));

  it('ends the build and the rollout and still leaves nothing behind, within a minute', { timeout: 120_000 }, async () => {
    dir = await exampleCopy('node-hello', {
      'maestro.yml': () =>
        [
          'project: busy',
          'services:',
          '  slow:',
          '    build: { command: sleep 37.25 }',
          '    start: node server.js',
          '  stuck:',
          '    start: sleep 301.5',
          '',
        ].join('\n'),
    });
    await maestro.store.projects.ensure('busy');
    const { preview } = await maestro.plane.previews.open('busy', { kind: 'pull_request', number: 4, branch: 'feat/busy', sha: '2'.repeat(40), origin: 'github' });
    expect(preview.name).toBe('pr-4');
    const packed = await packSource(dir);
    const digest = (await maestro.plane.sources.put(packed.archive)).digest;
    await maestro.store.sources.record({ digest, sizeBytes: packed.archive.length });
    const views = await maestro.plane.createDeployments({ project: 'busy', sourceDigest: digest, environment: 'pr-4' });
    const byService = Object.fromEntries(views.map((view) => [view.service, view.id]));

    // Wait until the build step runs and the stuck app's replica is up (never healthy).
    const deadline = Date.now() + 30_000;
    while (processesWith('sleep 37.25').length === 0 || processesWith('sleep 301.5').length === 0) {
      if (Date.now() > deadline) throw new Error('the build and the stuck replica did not start');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect((await maestro.plane.getDeployment(byService['slow']!)).status).toBe('building');
    expect((await maestro.plane.getDeployment(byService['stuck']!)).status).toBe('deploying');

    const started = Date.now();
    const report = await maestro.plane.previews.destroy('busy', 'pr-4', 'pull request #4 was closed');
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(report).toMatchObject({ environmentRemoved: true, problems: [] });

    expect(processesWith('sleep 37.25')).toEqual([]);
    expect(processesWith('sleep 301.5')).toEqual([]);
    expect(await maestro.store.deployments.get(byService['slow']!)).toBeUndefined();
    expect((await maestro.store.deployments.unfinished()).length).toBe(0);
    expect(await filesUnder(maestro.paths.work)).toEqual([]);
    expect(await filesUnder(maestro.paths.revisions)).toEqual([]);
    expect(maestro.plane.agent.list()).toEqual([]);
    const orphans = await maestro.plane.previews.orphans();
    expect(orphans).toEqual({ environments: [], replicas: [], routes: [], workFolders: [], revisionFolders: [], logs: [] });
  });
});
