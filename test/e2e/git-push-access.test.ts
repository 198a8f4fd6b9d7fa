/**
 * A push needs the permission of what it deploys: a developer's token pushes a branch to its preview,
 * but not the production branch to production, and the branch stays where it was.
 */
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateToken, hashToken } from '../../src/identity/index.js';
import { GIT_ENV, exampleCopy, gitPush, startTestMaestro, stopTestMaestro, type TestMaestro } from './harness.js';

const run = promisify(execFile);
const git = async (cwd: string, ...args: string[]): Promise<string> => (await run('git', args, { cwd, env: GIT_ENV })).stdout.trim();

describe('pushing takes the permission of what the push deploys', () => {
  let maestro: TestMaestro;
  let repo: string;
  const remote = (token: string): string => {
    const url = new URL('/git/access.git', maestro.apiUrl);
    url.username = 'x';
    url.password = token;
    return url.toString();
  };
  const tokens = { developer: generateToken(), viewer: generateToken() };

  beforeAll(async () => {
    maestro = await startTestMaestro();
    await maestro.store.tokens.create({ name: 'dev', hash: hashToken(tokens.developer), role: 'developer' });
    await maestro.store.tokens.create({ name: 'watcher', hash: hashToken(tokens.viewer), role: 'viewer' });
    repo = await exampleCopy('node-hello', { 'maestro.yml': (text) => text.replace('project: hello', 'project: access') });
    await git(repo, 'init', '-q', '-b', 'main');
    await git(repo, 'add', '.');
    await git(repo, 'commit', '-qm', 'hello app');
  }, 60_000);

  afterAll(async () => {
    await stopTestMaestro(maestro);
    await rm(repo, { recursive: true, force: true });
  });

  it("lets a developer push a branch to its preview, refuses their push to production naming the permission, and leaves main where it was", async () => {
    const first = await gitPush(repo, '-o', 'no-wait', remote(maestro.token), 'main');
    expect(first.code, first.output).toBe(0);
    const deployed = (await run('git', ['ls-remote', remote(maestro.token), 'refs/heads/main'], { env: GIT_ENV })).stdout.split('\t')[0];

    await git(repo, 'checkout', '-qb', 'feature');
    await git(repo, 'commit', '-q', '--allow-empty', '-m', 'a feature');
    const preview = await gitPush(repo, '-o', 'no-wait', remote(tokens.developer), 'feature');
    expect(preview.code, preview.output).toBe(0);
    expect(preview.output).toMatch(/remote: .*feature -> feature/);

    await git(repo, 'checkout', '-q', 'main');
    await git(repo, 'commit', '-q', '--allow-empty', '-m', 'straight to production');
    const production = await gitPush(repo, '-o', 'no-wait', remote(tokens.developer), 'main');
    expect(production.code).not.toBe(0);
    expect(production.output).toContain('remote: main deploys to production: deploy:production is needed on project access; token "dev" has role developer across the organisation');
    expect((await run('git', ['ls-remote', remote(maestro.token), 'refs/heads/main'], { env: GIT_ENV })).stdout.split('\t')[0]).toBe(deployed);

    const viewer = await gitPush(repo, remote(tokens.viewer), 'main');
    expect(viewer.code).not.toBe(0);
    expect(viewer.output).toContain('deploy:preview is needed on project access; token "watcher" has role viewer across the organisation');
  }, 120_000);
});
