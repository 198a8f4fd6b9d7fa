import { execFile } from 'node:child_process';
import { appendFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../events/receiver.js';
import { cli, exampleCopy, routerGet, startTestMaestro, stopTestMaestro, type TestMaestro, GIT_ENV, gitPush } from './harness.js';

const run = promisify(execFile);
const git = async (cwd: string, ...args: string[]) => (await run('git', args, { cwd, env: GIT_ENV })).stdout.trim();


interface Deployment {
  id: string;
  service: string;
  environment: string;
  status: string;
  commit: string | null;
}

describe('previews over their lifetime', () => {
  let maestro: TestMaestro;
  const repos: string[] = [];

  const repository = async (example: string, project: string): Promise<string> => {
    const dir = await exampleCopy(example, { 'maestro.yml': (text) => text.replace(/^project: .*$/m, `project: ${project}`) });
    repos.push(dir);
    await git(dir, 'init', '-q', '-b', 'main');
    await git(dir, 'add', '.');
    await git(dir, 'commit', '-qm', 'first');
    const url = new URL(`/git/${project}.git`, maestro.apiUrl);
    url.username = 'dev';
    url.password = maestro.token;
    await git(dir, 'remote', 'add', 'maestro', url.toString());
    return dir;
  };
  const deployments = async (project: string): Promise<Deployment[]> =>
    (JSON.parse((await cli(['deployments', '--project', project, '--limit', '100', '--json'], maestro.env)).stdout) as { deployments: Deployment[] }).deployments;

  beforeAll(async () => {
    maestro = await startTestMaestro();
  });
  afterAll(async () => {
    await stopTestMaestro(maestro);
    for (const dir of repos) await rm(dir, { recursive: true, force: true });
  });

  it('redeploys only the services whose watched inputs a push changed, starting a new environment in dependency order', async () => {
    const dir = await repository('monorepo', 'mono');
    const first = await gitPush(dir, 'maestro', 'main');
    expect(first.code, first.output).toBe(0);
    const initial = await deployments('mono');
    expect(initial.map((d) => d.service).sort()).toEqual(['api', 'web']);
    // web depends on api: its rollout began only once api's deployment had ended.
    const events = async (id: string) =>
      (await maestro.store.events.listSince(0, { deploymentId: id })).map((event) => ({ ...(event.data as { status?: string }), at: event.createdAt.getTime() }));
    const apiDone = (await events(initial.find((d) => d.service === 'api')!.id)).find((e) => e.status === 'succeeded')!.at;
    const webDeploying = (await events(initial.find((d) => d.service === 'web')!.id)).find((e) => e.status === 'deploying')!.at;
    expect(webDeploying).toBeGreaterThanOrEqual(apiDone);

    await appendFile(join(dir, 'apps/api/server.js'), '// a change to the api only\n');
    await git(dir, 'commit', '-qam', 'api change');
    const apiOnly = await gitPush(dir, 'maestro', 'main');
    expect(apiOnly.code, apiOnly.output).toBe(0);
    const afterApi = await deployments('mono');
    expect(afterApi.length - initial.length).toBe(1);
    expect(afterApi[0]).toMatchObject({ service: 'api', status: 'succeeded', commit: await git(dir, 'rev-parse', 'HEAD') });

    await appendFile(join(dir, 'packages/greeting/index.js'), '// a change to a workspace package web uses\n');
    await git(dir, 'commit', '-qam', 'greeting change');
    const webOnly = await gitPush(dir, 'maestro', 'main');
    expect(webOnly.code, webOnly.output).toBe(0);
    const afterGreeting = await deployments('mono');
    expect(afterGreeting.length - afterApi.length).toBe(1);
    expect(afterGreeting[0]).toMatchObject({ service: 'web', status: 'succeeded' });

    await appendFile(join(dir, 'README.md'), 'docs only\n');
    await git(dir, 'add', '.');
    await git(dir, 'commit', '-qm', 'docs');
    const nothing = await gitPush(dir, 'maestro', 'main');
    expect(nothing.code, nothing.output).toBe(0);
  });

  it('refuses a preview past the project\'s limit, saying how to make room', async () => {
    const dir = await repository('node-hello', 'capped');
    expect((await gitPush(dir, 'maestro', 'HEAD:refs/heads/one')).code).toBe(0);
    const set = await cli(['projects', 'set', 'capped', '--max-previews', '1'], maestro.env);
    expect(set.code, set.stderr).toBe(0);
    const refused = await gitPush(dir, 'maestro', 'HEAD:refs/heads/two');
    expect(refused.code).not.toBe(0);
    expect(refused.output).toMatch(/remote: .*already has 1 live preview.*maestro preview destroy/);
    expect((await routerGet(maestro.routerPort, 'web.one.capped.localhost')).status).toBe(200);
    expect((await routerGet(maestro.routerPort, 'web.two.capped.localhost')).status).toBe(404);
  });

  it('puts an idle preview to sleep and wakes it on its next request', async () => {
    const dir = await repository('node-hello', 'sleepy');
    expect((await gitPush(dir, 'maestro', 'HEAD:refs/heads/idle')).code).toBe(0);
    const host = 'web.idle.sleepy.localhost';
    expect((await routerGet(maestro.routerPort, host)).status).toBe(200);
    const project = (await maestro.store.projects.get('sleepy'))!;
    await maestro.store.projects.updateSettings(project.id, { previewIdleMs: 1_000 });
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await maestro.plane.previewChores();

    const preview = await maestro.store.previews.getByName(project.id, 'idle');
    expect(preview?.state).toBe('sleeping');
    const live = (await maestro.store.live.list()).find((row) => row.projectName === 'sleepy')!;
    expect(maestro.plane.runner.replicas(live.revisionId).filter((replica) => replica.state !== 'stopped')).toEqual([]);
    expect(maestro.plane.routes.current?.routes.find((route) => route.host === host)?.wakeUrl).toMatch(/\/v1\/router\/wake$/);

    // The first request is held while the app starts again, then answered by it.
    const woken = await routerGet(maestro.routerPort, host);
    expect(woken.status).toBe(200);
    expect(woken.body).toContain('Hello from Maestro');
    await eventually(async () => ((await maestro.store.previews.getByName(project.id, 'idle'))?.state === 'active' ? true : undefined), 30_000);
    expect((await routerGet(maestro.routerPort, host)).status).toBe(200);
  });
});
