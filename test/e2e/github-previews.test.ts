import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signWebhookBody } from '../../src/events/index.js';
import { eventually } from '../events/receiver.js';
import { copy, githubExamples } from '../git-hosts/examples.js';
import { startStatusServer, type StatusServer } from '../git-hosts/status-server.js';
import { createUpstream, type Upstream } from '../git-hosts/upstream.js';
import { EXAMPLES, cli, routerGet, startTestMaestro, stopTestMaestro, type TestMaestro } from './harness.js';

const SECRET = 'a-webhook-secret-of-some-length';
const TOKEN = 'ghp_status_token';
const REPOSITORY = 'Codertocat/Hello-World';

/**
 * GitHub's own pull_request payloads (from @octokit/webhooks-examples) drive a whole Maestro: the code is
 * fetched with git from a local repository standing in for github.com, the preview is deployed, the
 * commit statuses go to a local server that checks GitHub's documented request shapes, and closing the
 * pull request leaves nothing behind.
 */
describe('GitHub pull requests get previews', () => {
  let maestro: TestMaestro;
  let statuses: StatusServer;
  let upstream: Upstream;
  let deliveries = 0;

  const pullRequest = (action: 'opened' | 'synchronize' | 'closed', number: number, sha: string, merged = false): Record<string, unknown> => {
    const example = githubExamples('pull_request').find((entry) => entry.label.startsWith('api.github.com') && entry.payload.action === action);
    if (!example) throw new Error(`no pull_request.${action} example`);
    type Payload = {
      number: number;
      pull_request: { number: number; merged: boolean; head: { sha: string; ref: string }; base: { repo: { clone_url: string } } };
      repository: { full_name: string; clone_url: string };
    };
    const payload = copy(example.payload) as unknown as Payload;
    payload.number = number;
    payload.pull_request.number = number;
    payload.pull_request.head.sha = sha;
    payload.pull_request.head.ref = 'feature';
    payload.pull_request.merged = merged;
    payload.pull_request.base.repo.clone_url = upstream.url;
    payload.repository.full_name = REPOSITORY;
    payload.repository.clone_url = upstream.url;
    return payload as unknown as Record<string, unknown>;
  };

  const deliver = async (event: string, payload: unknown, secret = SECRET) => {
    const body = JSON.stringify(payload);
    const response = await request(`${maestro.apiUrl}/v1/hooks/github`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': event,
        'x-github-delivery': `delivery-${++deliveries}`,
        'x-hub-signature-256': signWebhookBody(secret, body),
      },
      body,
    });
    return { status: response.statusCode, body: (await response.body.json()) as Record<string, unknown> };
  };

  /** A commit on the upstream's feature branch, published as GitHub publishes a pull request's head. */
  const commitForPullRequest = async (number: number, version: string): Promise<string> => {
    const manifest = join(upstream.dir, 'maestro.yml');
    await writeFile(manifest, (await readFile(manifest, 'utf8')).replace(/APP_VERSION: .*/, `APP_VERSION: ${version}`));
    upstream.git('add', '.');
    upstream.git('commit', '--quiet', '-m', `version ${version}`);
    const sha = upstream.git('rev-parse', 'HEAD');
    upstream.git('update-ref', `refs/pull/${number}/head`, sha);
    return sha;
  };

  const answer = async (number: number) => (await routerGet(maestro.routerPort, `web.pr-${number}.shop.localhost`)).body;

  beforeAll(async () => {
    statuses = await startStatusServer({ github: TOKEN, gitlab: 'unused' });
    maestro = await startTestMaestro({ hookFetchProtocols: ['file'] });
    upstream = await createUpstream();
    await cp(join(EXAMPLES, 'node-hello'), upstream.dir, { recursive: true });
    const manifest = join(upstream.dir, 'maestro.yml');
    await writeFile(manifest, (await readFile(manifest, 'utf8')).replace('project: hello', 'project: shop'));
    upstream.git('checkout', '--quiet', '-b', 'feature');
    const env = { ...maestro.env, HOOK_SECRET: SECRET, GH_TOKEN: TOKEN };
    const set = await cli(['hooks', 'set', 'github', '--project', 'shop', '--repository', REPOSITORY, '--secret-env', 'HOOK_SECRET', '--status-url', statuses.githubUrl, '--status-token-env', 'GH_TOKEN'], env);
    expect(set.code, set.stderr).toBe(0);
  }, 60_000);
  afterAll(async () => {
    await stopTestMaestro(maestro);
    await statuses?.close();
  }, 30_000);

  it('refuses a delivery with a wrong signature, running nothing', async () => {
    const sha = await commitForPullRequest(1, 'v0');
    const refused = await deliver('pull_request', pullRequest('opened', 1, sha), 'not-the-secret');
    expect(refused.status).toBe(401);
    const { deployments } = JSON.parse((await cli(['deployments', '--project', 'shop', '--json'], maestro.env)).stdout || '{"deployments":[]}') as { deployments: unknown[] };
    expect(deployments).toHaveLength(0);
  });

  it('deploys an opened pull request to pr-<n>, follows new commits, reports statuses, and leaves nothing behind once closed', async () => {
    const first = await commitForPullRequest(7, 'v1');
    const opened = await deliver('pull_request', pullRequest('opened', 7, first));
    expect(opened.status, JSON.stringify(opened.body)).toBe(202);
    await eventually(async () => ((await answer(7)).includes('version=v1') ? true : undefined), 30_000);

    // Pending, then success pointing at the preview, in that order, each in GitHub's documented shape.
    await eventually(async () => (statuses.calls.some((call) => call.sha === first && call.body.state === 'success') ? true : undefined), 30_000);
    const forFirst = statuses.calls.filter((call) => call.sha === first);
    expect(forFirst.map((call) => call.body.state)).toEqual(['pending', 'success']);
    for (const call of forFirst) expect(call.problems).toEqual([]);
    expect(forFirst[1]!.body).toMatchObject({ context: 'maestro/pr-7', target_url: expect.stringMatching(/^http:\/\/web\.pr-7\.shop\.localhost:\d+\/$/) });

    const second = await commitForPullRequest(7, 'v2');
    expect((await deliver('pull_request', pullRequest('synchronize', 7, second))).status).toBe(202);
    await eventually(async () => ((await answer(7)).includes('version=v2') ? true : undefined), 30_000);

    // The same head again (a reopened request, an edited title) reuses what runs: nothing is redeployed.
    const before = (await cli(['deployments', '--project', 'shop', '--env', 'pr-7', '--json'], maestro.env)).stdout;
    const again = await deliver('pull_request', pullRequest('synchronize', 7, second));
    expect(again.status).toBe(202);
    expect(String(again.body.message)).toContain('nothing to deploy');
    expect((await cli(['deployments', '--project', 'shop', '--env', 'pr-7', '--json'], maestro.env)).stdout).toBe(before);

    const listed = await cli(['previews', 'ls', '--project', 'shop', '--json'], maestro.env);
    expect(listed.stdout).toContain('pr-7');

    const closed = await deliver('pull_request', pullRequest('closed', 7, second, true));
    expect(closed.status).toBe(202);
    await eventually(async () => ((await routerGet(maestro.routerPort, 'web.pr-7.shop.localhost')).status === 404 ? true : undefined), 60_000);
    await expectNothingLeft('pr-7');
  }, 120_000);

  it('cancels the build of a pull request closed while it builds, and leaves nothing behind', async () => {
    const manifest = join(upstream.dir, 'maestro.yml');
    await writeFile(manifest, (await readFile(manifest, 'utf8')).replace('    start: node', '    build:\n      command: sleep 30\n    start: node'));
    const sha = await commitForPullRequest(8, 'v3');
    expect((await deliver('pull_request', pullRequest('opened', 8, sha))).status).toBe(202);
    await eventually(async () => {
      const { deployments } = JSON.parse((await cli(['deployments', '--project', 'shop', '--env', 'pr-8', '--json'], maestro.env)).stdout) as { deployments: Array<{ status: string }> };
      return deployments[0]?.status === 'building' ? true : undefined;
    }, 30_000);
    const started = Date.now();
    expect((await deliver('pull_request', pullRequest('closed', 8, sha))).status).toBe(202);
    await eventually(async () => {
      const previews = JSON.parse((await cli(['previews', 'ls', '--project', 'shop', '--json'], maestro.env)).stdout) as { previews: Array<{ name: string }> };
      return previews.previews.some((preview) => preview.name === 'pr-8') ? undefined : true;
    }, 60_000);
    expect(Date.now() - started).toBeLessThan(60_000);
    await expectNothingLeft('pr-8');
    // The cancelled build's status says so rather than claiming a failure of the code.
    await eventually(async () => (statuses.calls.some((call) => call.sha === sha && call.body.state === 'error') ? true : undefined), 30_000);
  }, 120_000);

  /** No process, route, work folder, revision folder, log or environment row of the preview is left. */
  async function expectNothingLeft(environment: string): Promise<void> {
    const gc = await cli(['previews', 'gc', '--dry-run', '--json'], maestro.env);
    expect(gc.code, gc.stderr).toBe(0);
    expect(JSON.parse(gc.stdout)).toEqual({ environments: [], replicas: [], routes: [], workFolders: [], revisionFolders: [], logs: [], dryRun: true, problems: [] });
    const project = await maestro.store.projects.get('shop');
    expect(await maestro.store.environments.get(project!.id, environment)).toBeUndefined();
  }
});
