/**
 * Maestro as a git remote, end to end: a stock git client pushes, fetches and clones over real HTTP
 * through git http-backend and Maestro's pre-receive hook, against a receiver the tests script.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readlink, readdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  changedPaths,
  commitInfo,
  exportCommit,
  forcedUpdates,
  gitRepositoryPath,
  hasFile,
  intentsFromRefUpdates,
  isAncestor,
  resolveCommit,
  HOOK_ROUTE,
  type ReceivedPush,
} from '../../src/git/index.js';
import { generateToken, hashToken } from '../../src/identity/index.js';
import { GitClient, accepted, refused, startGitServer, type GitServer } from './harness.js';

const ZERO = '0'.repeat(40);
let server: GitServer;
let client: GitClient;

beforeAll(async () => {
  server = await startGitServer();
  client = await GitClient.create();
});

afterAll(async () => {
  await server?.close();
  await client?.remove();
});

beforeEach(() => {
  server.receiver.pushes.length = 0;
  server.receiver.answer = async () => accepted();
});

/** Where a ref of a project's repository on the server points, or undefined. */
async function serverRef(project: string, ref: string): Promise<string | undefined> {
  const result = await client.run(server.dataDir, ['--git-dir', gitRepositoryPath(server.dataDir, project), 'rev-parse', '--verify', '--quiet', ref]);
  return result.code === 0 ? result.stdout.trim() : undefined;
}

describe('pushing', () => {
  it('hands the push to the receiver, shows its answer as remote: lines, exits 0 and moves the branch', async () => {
    const dir = await client.repository({ 'server.js': 'console.log(1)\n' });
    const sha = await client.ok(dir, ['rev-parse', 'HEAD']);
    server.receiver.answer = async () => accepted('deployed web to production', ['http://web.production.alpha.localhost:8080/']);

    const result = await client.run(dir, ['push', server.remote('alpha'), 'main']);

    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/^remote: deployed web to production\s*$/m);
    expect(result.stderr).toMatch(/^remote: http:\/\/web\.production\.alpha\.localhost:8080\/\s*$/m);
    expect(server.receiver.pushes).toHaveLength(1);
    const push = server.receiver.pushes[0]!;
    expect(push).toMatchObject({ project: 'alpha', updates: [{ ref: 'refs/heads/main', oldSha: ZERO, newSha: sha }], pushOptions: [], actor: 'admin' });
    expect(push.objects.repository).toBe(gitRepositoryPath(server.dataDir, 'alpha'));
    expect(await serverRef('alpha', 'refs/heads/main')).toBe(sha);
  });

  it('streams progress while the receiver works: a line written before a 1 s wait shows up before the push ends', async () => {
    const dir = await client.repository();
    server.receiver.answer = async (_push, progress) => {
      progress('building web');
      await sleep(1_000);
      progress('web is live');
      return accepted();
    };
    let stderr = '';
    let buildingSeenAt: number | undefined;
    const result = await client.run(dir, ['push', server.remote('progress'), 'main'], (text) => {
      stderr += text;
      if (buildingSeenAt === undefined && stderr.includes('remote: building web')) buildingSeenAt = Date.now();
    });
    const endedAt = Date.now();

    expect(result.code, result.stderr).toBe(0);
    expect(buildingSeenAt).toBeDefined();
    expect(endedAt - buildingSeenAt!).toBeGreaterThanOrEqual(800);
    expect(result.stderr.indexOf('remote: building web')).toBeLessThan(result.stderr.indexOf('remote: web is live'));
  });

  it('refuses the push when the receiver says so: non-zero exit, the reason shown, the branch where it was', async () => {
    const dir = await client.repository();
    const first = await client.ok(dir, ['rev-parse', 'HEAD']);
    expect((await client.run(dir, ['push', server.remote('beta'), 'main'])).code).toBe(0);
    await client.commit(dir, { 'broken.js': 'syntax error(' }, 'break it');
    server.receiver.answer = async () => refused('deploy failed: web did not become healthy');

    const result = await client.run(dir, ['push', server.remote('beta'), 'main']);

    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/remote: deploy failed: web did not become healthy/);
    expect(result.stderr).toContain('! [remote rejected] main -> main (pre-receive hook declined)');
    expect(await serverRef('beta', 'refs/heads/main')).toBe(first);
  });

  it('refuses the push with the error when the receiver throws', async () => {
    const dir = await client.repository();
    server.receiver.answer = async () => {
      throw new Error('database on fire');
    };
    const result = await client.run(dir, ['push', server.remote('thrown'), 'main']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/remote: maestro: the push could not be handled; see the server log/);
    expect(await serverRef('thrown', 'refs/heads/main')).toBeUndefined();
  });

  it('passes push options, such as -o no-wait, to the receiver', async () => {
    const dir = await client.repository();
    const result = await client.run(dir, ['push', '-o', 'no-wait', '-o', 'note=hello world', server.remote('gamma'), 'main']);
    expect(result.code, result.stderr).toBe(0);
    expect(server.receiver.pushes[0]?.pushOptions).toEqual(['no-wait', 'note=hello world']);
  });

  it('gives branch_deleted for a deleted branch and tag_pushed for a tag (annotated tags resolve to their commit)', async () => {
    const dir = await client.repository();
    const sha = await client.ok(dir, ['rev-parse', 'HEAD']);
    const remote = server.remote('delta');
    expect((await client.run(dir, ['push', remote, 'main', 'main:feature'])).code).toBe(0);

    expect((await client.run(dir, ['push', remote, ':feature'])).code).toBe(0);
    await client.ok(dir, ['tag', '-a', 'v1.0.0', '-m', 'first release']);
    expect((await client.run(dir, ['push', remote, 'v1.0.0'])).code).toBe(0);

    const [, deletion, tag] = server.receiver.pushes;
    expect(intentsFromRefUpdates(deletion!.updates)).toEqual([{ kind: 'branch_deleted', branch: 'feature' }]);
    expect(await serverRef('delta', 'refs/heads/feature')).toBeUndefined();
    const intents = intentsFromRefUpdates(tag!.updates);
    expect(intents).toMatchObject([{ kind: 'tag_pushed', tag: 'v1.0.0' }]);
    expect(await resolveCommit({ repository: gitRepositoryPath(server.dataDir, 'delta'), env: {} }, tag!.updates[0]!.newSha)).toBe(sha);
  });

  it('takes two pushes at once: both reach the receiver before either is answered', async () => {
    const one = await client.repository({ 'a.txt': 'one\n' });
    const two = await client.repository({ 'b.txt': 'two\n' });
    const remote = server.remote('epsilon');
    expect((await client.run(one, ['push', remote, 'main'])).code).toBe(0);
    server.receiver.pushes.length = 0;
    let release!: () => void;
    const bothArrived = new Promise<void>((resolve) => (release = resolve));
    server.receiver.answer = async () => {
      if (server.receiver.pushes.length === 2) release();
      await Promise.race([bothArrived, sleep(10_000).then(() => Promise.reject(new Error('the other push never arrived')))]);
      return accepted();
    };

    const results = await Promise.all([client.run(one, ['push', remote, 'main:left']), client.run(two, ['push', remote, 'main:right'])]);

    for (const result of results) expect(result.code, result.stderr).toBe(0);
    expect(server.receiver.pushes.map((push) => push.updates[0]!.ref).sort()).toEqual(['refs/heads/left', 'refs/heads/right']);
  });

  it('tells the receiver when the pusher goes away, kills the push and leaves the branch alone', async () => {
    const dir = await client.repository();
    let aborted: (reason: unknown) => void;
    const abortSeen = new Promise<unknown>((resolve) => (aborted = resolve));
    let arrived!: () => void;
    const receiverCalled = new Promise<void>((resolve) => (arrived = resolve));
    server.receiver.answer = async (_push, progress, signal) => {
      signal.addEventListener('abort', () => aborted(signal.reason));
      progress('building');
      arrived();
      await Promise.race([abortSeen, sleep(10_000)]);
      return accepted();
    };
    const push = client.start(dir, ['push', server.remote('zeta'), 'main']);
    await receiverCalled;
    // git and its remote helper (git-remote-http, which holds the connection) both go.
    push.stop();
    await push.done;

    const reason = await Promise.race([abortSeen, sleep(5_000).then(() => 'not aborted')]);
    expect(reason).toBeInstanceOf(Error);
    await sleep(200);
    expect(await serverRef('zeta', 'refs/heads/main')).toBeUndefined();
  });
});

describe('reading the pushed commits while they are quarantined', () => {
  it('exports the commit, lists the changed paths, reads its message and files, and knows a forced push', async () => {
    const dir = await client.repository({ 'package.json': '{"name":"app"}\n', 'src/index.js': 'v1\n', 'docs/readme.md': 'docs\n' });
    const remote = server.remote('eta');
    expect((await client.run(dir, ['push', remote, 'main'])).code).toBe(0);
    const before = await client.ok(dir, ['rev-parse', 'HEAD']);
    await client.commit(dir, { 'src/index.js': 'v2\n', 'src/new.js': 'new\n' }, 'Change the index\n\nWith a body.');
    await client.ok(dir, ['rm', '--quiet', 'docs/readme.md']);
    await client.ok(dir, ['commit', '--quiet', '-m', 'drop the docs']);
    const after = await client.ok(dir, ['rev-parse', 'HEAD']);
    const exported = await mkdtemp(join(client.home, 'export-'));
    const seen: Record<string, unknown> = {};
    server.receiver.answer = async (push: ReceivedPush) => {
      const { oldSha, newSha } = push.updates[0]!;
      // The new commits are only in the quarantine until this answer accepts them.
      seen.inRepositoryYet = await client.run(server.dataDir, ['--git-dir', push.objects.repository, 'cat-file', '-e', newSha]).then((r) => r.code === 0);
      await exportCommit(push.objects, newSha, exported);
      seen.changed = await changedPaths(push.objects, oldSha, newSha);
      seen.fromNothing = await changedPaths(push.objects, ZERO, newSha);
      seen.info = await commitInfo(push.objects, `${newSha}`);
      seen.hasPackage = await hasFile(push.objects, newSha, 'package.json');
      seen.hasDocs = await hasFile(push.objects, newSha, 'docs/readme.md');
      seen.srcIsFile = await hasFile(push.objects, newSha, 'src');
      seen.ancestor = await isAncestor(push.objects, oldSha, newSha);
      seen.forced = [...(await forcedUpdates(push.objects, push.updates))];
      return accepted();
    };

    expect((await client.run(dir, ['push', remote, 'main'])).code).toBe(0);

    expect(seen.inRepositoryYet).toBe(false);
    expect((await readdir(exported)).sort()).toEqual(['package.json', 'src']);
    expect(await readFile(join(exported, 'src/index.js'), 'utf8')).toBe('v2\n');
    expect(await readFile(join(exported, 'src/new.js'), 'utf8')).toBe('new\n');
    expect((seen.changed as string[]).sort()).toEqual(['docs/readme.md', 'src/index.js', 'src/new.js']);
    expect(seen.fromNothing).toBeUndefined();
    expect(seen.info).toEqual({ sha: after, message: 'drop the docs', author: 'Ada <ada@example.com>' });
    expect(seen).toMatchObject({ hasPackage: true, hasDocs: false, srcIsFile: false, ancestor: true, forced: [] });

    // History rewritten and pushed with --force: forced, and the intent says so.
    await client.ok(dir, ['reset', '--quiet', '--hard', before]);
    await client.commit(dir, { 'src/index.js': 'v3\n' }, 'rewrite');
    let intents: unknown;
    server.receiver.answer = async (push) => {
      const forced = await forcedUpdates(push.objects, push.updates);
      intents = intentsFromRefUpdates(push.updates, (update) => forced.has(update.ref));
      return accepted();
    };
    expect((await client.run(dir, ['push', '--force', remote, 'main'])).code).toBe(0);
    expect(intents).toMatchObject([{ kind: 'branch_updated', branch: 'main', beforeSha: after, forced: true }]);
  });

  it('takes a push larger than git sends in one piece (a chunked request body)', async () => {
    // Over http.postBuffer (1 MiB), git streams the pack without a Content-Length.
    const big = randomBytes(3 * 1024 * 1024).toString('base64');
    const dir = await client.repository({ 'big.txt': big });
    const exported = await mkdtemp(join(client.home, 'export-'));
    server.receiver.answer = async (push) => {
      await exportCommit(push.objects, push.updates[0]!.newSha, exported);
      return accepted();
    };
    const result = await client.run(dir, ['push', server.remote('iota-big'), 'main']);
    expect(result.code, result.stderr).toBe(0);
    expect(await readFile(join(exported, 'big.txt'), 'utf8')).toBe(big);
  });

  it('exports symlinks as symlinks', async () => {
    const dir = await client.repository({ 'target.txt': 'here\n' });
    await symlink('target.txt', join(dir, 'link.txt'));
    await client.commit(dir, {}, 'a link');
    const exported = await mkdtemp(join(client.home, 'export-'));
    server.receiver.answer = async (push) => {
      await exportCommit(push.objects, push.updates[0]!.newSha, exported);
      return accepted();
    };
    expect((await client.run(dir, ['push', server.remote('theta'), 'main'])).code).toBe(0);
    expect(await readlink(join(exported, 'link.txt'))).toBe('target.txt');
    expect(await readFile(join(exported, 'link.txt'), 'utf8')).toBe('here\n');
  });
});

describe('credentials and access', () => {
  it.each([
    ['a wrong token', (project: string) => server.remote(project, 'mae_wrongwrongwrongwrongwrongwrong')],
    ['no token', (project: string) => server.remote(project).replace(/x:[^@]+@/, 'x:@')],
    ['an expired token', (project: string) => server.remote(project, server.tokens.expired)],
  ])('refuses %s: git says "Authentication failed" and nothing reaches the receiver', async (_what, url) => {
    const dir = await client.repository();
    const result = await client.run(dir, ['push', url('iota'), 'main']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('Authentication failed');
    expect(server.receiver.pushes).toHaveLength(0);
    expect(await server.store.projects.get('iota')).toBeUndefined();
  });

  it('without any credentials, git cannot ask for them and fails', async () => {
    const dir = await client.repository();
    const result = await client.run(dir, ['push', `${server.base}/git/iota.git`, 'main']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/could not read Username|Authentication failed/);
    expect(server.receiver.pushes).toHaveLength(0);
  });

  it('answers 401 with a Basic challenge and a plain-text explanation', async () => {
    const response = await fetch(`${server.base}/git/hello.git/info/refs?service=git-upload-pack`);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Basic realm="Maestro"');
    expect(await response.text()).toMatch(/use a Maestro API token as the password of the git URL/);
  });

  it('creates a project on the first push of a token with project:create, and refuses others with 403 saying why', async () => {
    const dir = await client.repository();
    const viewer = await client.run(dir, ['push', server.remote('kappa', server.tokens.viewer), 'main']);
    expect(viewer.code).not.toBe(0);
    expect(viewer.stderr).toContain('403');
    expect(viewer.stderr).toMatch(/remote: deploy:preview is needed on project kappa; token "observer" has role viewer across the organisation/);
    // A token scoped to another project reaches nothing here, not even a new project.
    const neighbour = await server.store.projects.ensure('kappa-neighbour');
    const scopedSecret = generateToken();
    await server.store.tokens.create({ name: 'neighbour-ci', hash: hashToken(scopedSecret), role: 'owner', projectId: neighbour.id });
    const scoped = await client.run(dir, ['push', server.remote('kappa', scopedSecret), 'main']);
    expect(scoped.stderr).toContain('403');
    expect(scoped.stderr).toMatch(/remote: deploy:preview is needed on project kappa; token "neighbour-ci" has role owner on project kappa-neighbour/);
    expect(await server.store.projects.get('kappa')).toBeUndefined();
    expect(server.receiver.pushes).toHaveLength(0);

    const owner = await client.run(dir, ['push', server.remote('kappa'), 'main']);
    expect(owner.code, owner.stderr).toBe(0);
    expect(await server.store.projects.get('kappa')).toMatchObject({ name: 'kappa' });

    // Once it exists, a developer's token pushes to it too.
    await client.commit(dir, { 'more.txt': 'more\n' }, 'more');
    expect((await client.run(dir, ['push', server.remote('kappa', server.tokens.ci), 'main'])).code).toBe(0);
    expect(server.receiver.pushes.map((push) => push.actor)).toEqual(['admin', 'ci']);
  });

  it('refuses a hook call without a push in progress', async () => {
    const response = await fetch(`${server.base}${HOOK_ROUTE}`, {
      method: 'POST',
      headers: { authorization: 'Bearer mgp_made_up', 'content-type': 'application/json' },
      body: JSON.stringify({ updates: '', pushOptions: [], objects: {} }),
    });
    expect(response.status).toBe(401);
    expect(await response.text()).toMatch(/belongs to no push in progress/);
  });
});

describe('fetching', () => {
  it('clones and fetches what was pushed, with any valid token', async () => {
    const dir = await client.repository({ 'app.js': 'hello\n' });
    expect((await client.run(dir, ['push', server.remote('lambda'), 'main'])).code).toBe(0);
    const parent = await mkdtemp(join(client.home, 'clone-'));

    const clone = await client.run(parent, ['clone', server.remote('lambda', server.tokens.viewer), 'copy']);

    expect(clone.code, clone.stderr).toBe(0);
    expect(await readFile(join(parent, 'copy', 'app.js'), 'utf8')).toBe('hello\n');
    await client.commit(dir, { 'app.js': 'hello again\n' }, 'again');
    expect((await client.run(dir, ['push', server.remote('lambda'), 'main'])).code).toBe(0);
    expect((await client.run(join(parent, 'copy'), ['pull', '--quiet', '--ff-only'])).code).toBe(0);
    expect(await readFile(join(parent, 'copy', 'app.js'), 'utf8')).toBe('hello again\n');
  });

  it('answers 404 with a clear text for a project without a repository', async () => {
    const parent = await mkdtemp(join(client.home, 'clone-'));
    const clone = await client.run(parent, ['clone', server.remote('nothing-here'), 'copy']);
    expect(clone.code).not.toBe(0);
    expect(clone.stderr).toMatch(/remote: Maestro has no repository for project "nothing-here" yet; push to it first/);
  });
});
