import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, exampleCopy, routerGet, startTestMaestro, stopTestMaestro, type TestMaestro, GIT_ENV, gitPush } from './harness.js';

const run = promisify(execFile);

const git = async (cwd: string, ...args: string[]): Promise<string> => (await run('git', args, { cwd, env: GIT_ENV })).stdout;


describe('git push to Maestro', () => {
  let maestro: TestMaestro;
  let repo: string;
  let remote: string;
  const version = async (host: string) => (await routerGet(maestro.routerPort, host)).body;

  const setVersion = async (value: string, message = `version ${value}`) => {
    const manifest = await readFile(join(repo, 'maestro.yml'), 'utf8');
    await writeFile(join(repo, 'maestro.yml'), manifest.replace(/APP_VERSION: .*/, `APP_VERSION: ${value}`));
    await git(repo, 'commit', '-qam', message);
  };

  beforeAll(async () => {
    maestro = await startTestMaestro();
    repo = await exampleCopy('node-hello', {
      'maestro.yml': (text) => text.replace('project: hello', 'project: pushed'),
    });
    await git(repo, 'init', '-q', '-b', 'main');
    await git(repo, 'add', '.');
    await git(repo, 'commit', '-qm', 'hello app');
    const url = new URL('/git/pushed.git', maestro.apiUrl);
    url.username = 'dev';
    url.password = maestro.token;
    remote = url.toString();
    await git(repo, 'remote', 'add', 'maestro', remote);
  });
  afterAll(async () => {
    await stopTestMaestro(maestro);
    await rm(repo, { recursive: true, force: true });
  });

  it('deploys the production branch on push, creating the project, with progress as remote: lines and the URL', async () => {
    const result = await gitPush(repo, 'maestro', 'main');
    expect(result.code, result.output).toBe(0);
    expect(result.output).toMatch(/remote: .*main -> production/);
    expect(result.output).toMatch(/remote: .*web: live/);
    expect(result.output).toContain('remote: http://web.production.pushed.localhost:');
    expect(await version('web.production.pushed.localhost')).toContain('version=v1');
    const deployments = JSON.parse((await cli(['deployments', '--project', 'pushed', '--json'], maestro.env)).stdout) as {
      deployments: Array<{ commit: string; ref: string; environment: string }>;
    };
    expect(deployments.deployments[0]).toMatchObject({ commit: (await git(repo, 'rev-parse', 'HEAD')).trim(), ref: 'refs/heads/main', environment: 'production' });
  });

  it('refuses the push when the deploy fails, leaving the branch where it was and the previous release serving', async () => {
    const before = (await git(repo, 'ls-remote', 'maestro', 'refs/heads/main')).split('\t')[0];
    const manifest = await readFile(join(repo, 'maestro.yml'), 'utf8');
    await writeFile(join(repo, 'maestro.yml'), manifest.replace('start: node server.js', 'start: node missing.js'));
    await git(repo, 'commit', '-qam', 'break the start command');
    const result = await gitPush(repo, 'maestro', 'main');
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/remote: .*failed/);
    expect(result.output).toContain('pre-receive hook declined');
    expect((await git(repo, 'ls-remote', 'maestro', 'refs/heads/main')).split('\t')[0]).toBe(before);
    expect(await version('web.production.pushed.localhost')).toContain('version=v1');
    await git(repo, 'reset', '-q', '--hard', 'HEAD~1');
  });

  it('gives another branch its own preview, at a DNS-safe name', async () => {
    await git(repo, 'checkout', '-q', '-b', 'Feature/Login_Page');
    await setVersion('v2');
    const result = await gitPush(repo, 'maestro', 'Feature/Login_Page');
    expect(result.code, result.output).toBe(0);
    const url = /remote: (http:\/\/web\.([a-z0-9-]+)\.pushed\.localhost:\d+\/)/.exec(result.output);
    expect(url, result.output).not.toBeNull();
    const environment = url![2]!;
    expect(environment).toMatch(/^feature-login-page-[0-9a-f]{6}$/);
    expect(await version(`web.${environment}.pushed.localhost`)).toContain('version=v2');
    expect(await version('web.production.pushed.localhost')).toContain('version=v1');

    const listed = await cli(['previews', 'ls', '--project', 'pushed', '--json'], maestro.env);
    expect(listed.stdout).toContain(environment);

    // A force push replaces the preview's commit.
    await git(repo, 'commit', '-q', '--amend', '-m', 'version v2, amended');
    await setVersion('v3');
    const forced = await gitPush(repo, '--force', 'maestro', 'Feature/Login_Page');
    expect(forced.code, forced.output).toBe(0);
    expect(await version(`web.${environment}.pushed.localhost`)).toContain('version=v3');

    // Deleting the branch tears the preview down.
    const deleted = await gitPush(repo, 'maestro', ':Feature/Login_Page');
    expect(deleted.code, deleted.output).toBe(0);
    expect(deleted.output).toContain(`preview ${environment} destroyed`);
    expect((await routerGet(maestro.routerPort, `web.${environment}.pushed.localhost`)).status).toBe(404);
    await git(repo, 'checkout', '-q', 'main');
  });

  it('returns at once with -o no-wait, and the deploy still happens', async () => {
    await setVersion('v4');
    const started = Date.now();
    const result = await gitPush(repo, '-o', 'no-wait', 'maestro', 'main');
    expect(result.code, result.output).toBe(0);
    expect(result.output).toMatch(/remote: .*production queued/);
    expect(Date.now() - started).toBeLessThan(5_000);
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && !(await version('web.production.pushed.localhost')).includes('version=v4')) await new Promise((r) => setTimeout(r, 100));
    expect(await version('web.production.pushed.localhost')).toContain('version=v4');
  });

  it('builds a tag as a release, without deploying it', async () => {
    await setVersion('v5');
    await git(repo, 'tag', 'v5.0.0');
    const result = await gitPush(repo, 'maestro', 'v5.0.0');
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain('release build of v5.0.0 stored');
    expect(await version('web.production.pushed.localhost')).toContain('version=v4');
    await git(repo, 'reset', '-q', '--hard', 'HEAD~1');
  });

  it('refuses a commit without maestro.yml, suggesting maestro init', async () => {
    const bare = await mkdtemp(join(tmpdir(), 'maestro-nomanifest-'));
    try {
      await writeFile(join(bare, 'index.js'), 'console.log("hi")\n');
      await git(bare, 'init', '-q', '-b', 'main');
      await git(bare, 'add', '.');
      await git(bare, 'commit', '-qm', 'no manifest');
      const result = await gitPush(bare, remote, 'main:refs/heads/topic');
      expect(result.code).not.toBe(0);
      expect(result.output).toMatch(/remote: .*has no maestro\.yml.*maestro init/);
    } finally {
      await rm(bare, { recursive: true, force: true });
    }
  });

  it('refuses a bad token, and nothing changes', async () => {
    const url = new URL(remote);
    url.password = 'mae_not-a-real-token-000000000000';
    await setVersion('v6');
    const result = await gitPush(repo, url.toString(), 'main');
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('Authentication failed');
    expect(await version('web.production.pushed.localhost')).toContain('version=v4');
    await git(repo, 'reset', '-q', '--hard', 'HEAD~1');
  });

  it('lets the newer of two concurrent pushes to one branch win', async () => {
    const slow = async (value: string, seconds: number) => {
      const manifest = await readFile(join(repo, 'maestro.yml'), 'utf8');
      const withBuild = manifest.includes('build:')
        ? manifest.replace(/command: sleep \d+/, `command: sleep ${seconds}`)
        : manifest.replace('    start: node', `    build:\n      command: sleep ${seconds}\n    start: node`);
      await writeFile(join(repo, 'maestro.yml'), withBuild.replace(/APP_VERSION: .*/, `APP_VERSION: ${value}`));
      await git(repo, 'commit', '-qam', `slow ${value}`);
    };
    await slow('v7', 8);
    const older = gitPush(repo, 'maestro', 'main');
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    await slow('v8', 1);
    const newer = await gitPush(repo, 'maestro', 'main');
    const first = await older;
    expect(newer.code, newer.output).toBe(0);
    expect(first.code).not.toBe(0);
    expect(first.output).toMatch(/superseded|cancelled/);
    expect(await version('web.production.pushed.localhost')).toContain('version=v8');
    expect((await git(repo, 'ls-remote', 'maestro', 'refs/heads/main')).split('\t')[0]).toBe((await git(repo, 'rev-parse', 'HEAD')).trim());
  }, 60_000);
});
