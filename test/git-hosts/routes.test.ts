import { readFileSync } from 'node:fs';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signWebhookBody } from '../../src/events/index.js';
import { gitRepositoryPath } from '../../src/git/index.js';
import { copy, githubExamples } from './examples.js';
import { startHookApi, type HookApi } from './hook-api.js';
import { createUpstream, hasCommit, refsOf, type Upstream } from './upstream.js';

const ZERO = '0'.repeat(40);
const fixture = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;

/** GitHub's example push of a new master branch, pointed at `upstream` and its commit. */
function githubPush(upstream: Upstream, sha: string, repository = 'Codertocat/Hello-World'): Record<string, unknown> {
  const payload = copy(githubExamples('push').find((e) => e.label.startsWith('api.github.com') && e.payload.ref === 'refs/heads/master')!.payload);
  const repo = payload.repository as Record<string, unknown>;
  repo.clone_url = upstream.url;
  repo.full_name = repository;
  return { ...payload, ref: 'refs/heads/main', after: sha };
}

function githubPullRequest(upstream: Upstream, action: string, sha: string): Record<string, unknown> {
  const payload = copy(githubExamples('pull_request').find((e) => e.label.startsWith('api.github.com') && e.payload.action === action)!.payload);
  const pr = payload.pull_request as { head: { sha: string }; base: { repo: { clone_url: string } } };
  pr.head.sha = sha;
  pr.base.repo.clone_url = upstream.url;
  return payload;
}

describe('linking projects to repositories', () => {
  let hooks: HookApi;
  beforeAll(async () => (hooks = await startHookApi()));
  afterAll(async () => hooks?.close());

  it('shows a generated secret once, never again, nor the status token', async () => {
    const created = await hooks.api('PUT', '/v1/projects/shop/hooks/github', { repository: 'octo-org/shop', statusToken: 'ghp_secret_token', statusUrl: 'https://ghe.example.com/api/v3/' });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({
      project: 'shop',
      provider: 'github',
      repository: 'octo-org/shop',
      statusUrl: 'https://ghe.example.com/api/v3',
      secretSet: true,
      statusTokenSet: true,
      webhookPath: '/v1/hooks/github',
      secret: expect.stringMatching(/^whsec_/),
    });
    const shown = await hooks.api<Record<string, unknown>>('GET', '/v1/projects/shop/hooks/github');
    expect(shown.body).not.toHaveProperty('secret');
    expect(JSON.stringify(shown.body)).not.toContain('ghp_secret_token');
    // Changing the repository keeps the secret (not shown) and the token.
    const changed = await hooks.api('PUT', '/v1/projects/shop/hooks/github', { repository: 'octo-org/shop-web', statusUrl: null });
    expect(changed.body).toMatchObject({ repository: 'octo-org/shop-web', statusUrl: 'https://api.github.com', statusTokenSet: true });
    expect(changed.body).not.toHaveProperty('secret');
    const list = await hooks.api<{ hooks: Array<{ provider: string }> }>('GET', '/v1/projects/shop/hooks');
    expect(list.body.hooks.map((h) => h.provider)).toEqual(['github']);
    expect((await hooks.api('DELETE', '/v1/projects/shop/hooks/github')).body).toEqual({ project: 'shop', removed: 'github' });
    expect((await hooks.api('GET', '/v1/projects/shop/hooks/github')).status).toBe(404);
  });

  it('refuses bad input with what to fix, and anybody without a token', async () => {
    const bad = async (body: unknown, provider = 'github') => (await hooks.api<{ error: { message: string } }>('PUT', `/v1/projects/shop/hooks/${provider}`, body)).body.error.message;
    expect(await bad({ repository: 'https://github.com/octo-org/shop' })).toMatch(/GitHub repository "https:\/\/github.com\/octo-org\/shop" is not valid: give it as owner\/name/);
    expect(await bad({ repository: 'shop' }, 'gitlab')).toMatch(/give it as group\/project or group\/sub\/project/);
    expect(await bad({ repository: 'o/r', secret: 'short' })).toMatch(/secret must be 16 to 256 characters/);
    expect(await bad({ repository: 'o/r', statusUrl: 'ftp://x' })).toMatch(/statusUrl must use http or https/);
    expect(await bad({ repository: 'o/r' }, 'bitbucket')).toMatch(/params.provider/);
    expect((await hooks.api('PUT', '/v1/projects/shop/hooks/github', { repository: 'o/r' }, '')).status).toBe(401);
    await hooks.api('PUT', '/v1/projects/one/hooks/gitlab', { repository: 'acme/web/shop', secret: 's'.repeat(16) });
    const taken = await hooks.api<{ error: { message: string } }>('PUT', '/v1/projects/two/hooks/gitlab', { repository: 'ACME/web/shop' });
    expect(taken.status).toBe(409);
    expect(taken.body.error.message).toBe('gitlab repository ACME/web/shop is already linked to project one; remove that link first with `maestro hooks rm gitlab --project one`');
  });
});

describe('GitHub webhooks', () => {
  let hooks: HookApi;
  let upstream: Upstream;
  let secret: string;
  let main: string;
  beforeAll(async () => {
    hooks = await startHookApi();
    upstream = await createUpstream();
    main = await upstream.commit('first');
    secret = ((await hooks.api('PUT', '/v1/projects/hello/hooks/github', { repository: 'codertocat/hello-world' })).body as { secret: string }).secret;
  });
  afterAll(async () => hooks?.close());

  it('answers a ping without a bearer token once the signature checks out', async () => {
    const ping = copy(githubExamples('ping').find((e) => e.label.startsWith('api.github.com'))!.payload);
    (ping.repository as Record<string, unknown>).full_name = 'Codertocat/Hello-World';
    const reply = await hooks.github('ping', ping, { secret, delivery: 'ping-1' });
    expect(reply).toEqual({ status: 200, body: { message: 'pong: Codertocat/Hello-World deploys project hello', pong: true } });
  });

  it('fetches a pushed branch into the project repository and hands the intake its intents, once per delivery id', async () => {
    const seen: boolean[] = [];
    hooks.intake.onCall = async (call) => {
      seen.push(hasCommit(call.objects.repository, main));
    };
    const payload = githubPush(upstream, main);
    const reply = await hooks.github('push', payload, { secret, delivery: 'push-1' });
    expect(reply).toEqual({ status: 202, body: { message: 'deploying', deployments: ['dep_1'], urls: ['http://web.production.shop.localhost:8080/'] } });
    const call = hooks.intake.calls.at(-1)!;
    expect(call).toEqual({
      project: 'hello',
      intents: [{ kind: 'branch_updated', branch: 'main', sha: main }],
      objects: { repository: gitRepositoryPath(hooks.dataDir, 'hello'), env: {} },
      origin: { source: 'github', actor: 'Codertocat', providerRepository: 'Codertocat/Hello-World' },
    });
    expect(seen).toEqual([true]); // the commit was there before the intake was asked
    expect(refsOf(call.objects.repository)['refs/maestro/github/heads/main']).toBe(main);

    const calls = hooks.intake.calls.length;
    const again = await hooks.github('push', payload, { secret, delivery: 'push-1' });
    expect(again).toEqual({ status: 200, body: { message: 'delivery push-1 was handled already (accepted: deploying)', duplicate: true } });
    expect(hooks.intake.calls.length).toBe(calls);
    expect(await hooks.store.hookDeliveries.get('github', 'push-1')).toMatchObject({ event: 'push', outcome: 'accepted: deploying' });
  });

  it('acts once on two concurrent deliveries of one id', async () => {
    const sha = await upstream.commit('second');
    const before = hooks.intake.calls.length;
    const replies = await Promise.all([1, 2, 3].map(() => hooks.github('push', githubPush(upstream, sha), { secret, delivery: 'push-concurrent' })));
    expect(replies.map((r) => r.status).sort()).toEqual([200, 200, 202]);
    expect(replies.filter((r) => r.body.duplicate === true)).toHaveLength(2);
    expect(hooks.intake.calls.length - before).toBe(1);
  });

  it('refuses a missing or wrong signature: nothing run, nothing recorded', async () => {
    const before = hooks.intake.calls.length;
    const payload = githubPush(upstream, main);
    const missing = await hooks.github('push', payload, { secret, delivery: 'bad-1', signature: null });
    expect(missing.status).toBe(401);
    expect((missing.body.error as { message: string }).message).toMatch(/^X-Hub-Signature-256 is missing/);
    const wrong = await hooks.github('push', payload, { secret: 'not-the-secret-at-all', delivery: 'bad-1' });
    expect(wrong.status).toBe(401);
    expect((wrong.body.error as { message: string }).message).toBe("X-Hub-Signature-256 does not match the body: the GitHub webhook's secret is not the one Maestro has for project hello");
    // Signed, then one byte of the body changed on the way.
    const body = JSON.stringify(payload);
    const tampered = await hooks.github('push', body.replace('refs/heads/main', 'refs/heads/mair'), { secret, delivery: 'bad-1', signature: signWebhookBody(secret, body) });
    expect(tampered.status).toBe(401);
    expect(hooks.intake.calls.length).toBe(before);
    expect(await hooks.store.hookDeliveries.get('github', 'bad-1')).toBeUndefined();
    // The genuine delivery of that id still acts.
    expect((await hooks.github('push', payload, { secret, delivery: 'bad-1' })).status).toBe(202);
  });

  it('says which repository is not linked, and how to link it', async () => {
    const reply = await hooks.github('push', githubPush(upstream, main, 'someone/else'), { secret, delivery: 'unknown-1' });
    expect(reply.status).toBe(404);
    expect((reply.body.error as { message: string }).message).toBe(
      'no Maestro project is linked to github repository someone/else; run `maestro hooks set github --repository someone/else --project P`',
    );
  });

  it('answers malformed JSON and missing fields with a 400 naming them', async () => {
    const broken = await hooks.github('push', '{"ref": ', { secret, delivery: 'json-1' });
    expect(broken.status).toBe(400);
    expect((broken.body.error as { message: string }).message).toMatch(/^the body is not JSON/);
    const payload = githubPush(upstream, main);
    delete payload.after;
    const missing = await hooks.github('push', payload, { secret, delivery: 'json-2' });
    expect(missing).toMatchObject({ status: 400, body: { error: { message: 'the GitHub push payload is missing after' } } });
  });

  it('ignores events and actions that deploy nothing, with a reason', async () => {
    const labeled = await hooks.github('pull_request', githubPullRequest(upstream, 'labeled', main), { secret, delivery: 'label-1' });
    expect(labeled).toEqual({
      status: 202,
      body: { message: 'ignored: pull_request action labeled does not change the code of #2; Maestro acts on opened, synchronize, reopened and closed', ignored: true },
    });
    const issues = githubExamples('issues')[0]!.payload;
    expect((await hooks.github('issues', issues, { secret, delivery: 'issue-1' })).body).toMatchObject({ ignored: true });
  });

  it('fetches a pull request head from refs/pull/<n>/head; a closed one fetches nothing', async () => {
    upstream.git('checkout', '--quiet', '-b', 'changes');
    const head = await upstream.commit('pr work');
    upstream.git('checkout', '--quiet', 'main');
    upstream.git('update-ref', 'refs/pull/2/head', head);
    expect((await hooks.github('pull_request', githubPullRequest(upstream, 'opened', head), { secret, delivery: 'pr-1' })).status).toBe(202);
    const opened = hooks.intake.calls.at(-1)!;
    expect(opened.intents).toEqual([{ kind: 'pull_request_updated', number: 2, branch: 'changes', sha: head, baseBranch: 'master', title: 'Update the README with new information.' }]);
    expect(refsOf(opened.objects.repository)['refs/maestro/github/pull/2']).toBe(head);
    const closed = githubPullRequest(upstream, 'closed', head);
    (closed.pull_request as { merged: boolean }).merged = true;
    expect((await hooks.github('pull_request', closed, { secret, delivery: 'pr-2' })).status).toBe(202);
    expect(hooks.intake.calls.at(-1)!.intents).toEqual([{ kind: 'pull_request_closed', number: 2, merged: true }]);
  });

  it('a commit that cannot be fetched is a 503 saying why, and the redelivery of that id acts again', async () => {
    const sha = await upstream.commit('third');
    const before = hooks.intake.calls.length;
    const payload = githubPush(upstream, sha);
    (payload.repository as Record<string, unknown>).clone_url = 'file:///nowhere/to/be/found';
    const failed = await hooks.github('push', payload, { secret, delivery: 'fetch-1' });
    expect(failed.status).toBe(503);
    expect((failed.body.error as { message: string }).message).toMatch(/^could not fetch refs\/heads\/main from file:\/\/\/nowhere\/to\/be\/found: fatal: /);
    expect(hooks.intake.calls.length).toBe(before);
    expect((await hooks.store.hookDeliveries.get('github', 'fetch-1'))!.outcome).toMatch(/^failed: could not fetch/);
    const redelivered = await hooks.github('push', githubPush(upstream, sha), { secret, delivery: 'fetch-1' });
    expect(redelivered.status).toBe(202);
    expect(hooks.intake.calls.length).toBe(before + 1);
  });

  it("passes on the intake's refusal as 422, and refuses everything with 503 while no intake is wired", async () => {
    hooks.intake.answer = () => ({ ok: false, message: 'maestro.yml is not valid at abc123', urls: [], deploymentIds: [] });
    const refused = await hooks.github('push', githubPush(upstream, main), { secret, delivery: 'refused-1' });
    expect(refused).toMatchObject({ status: 422, body: { error: { code: 'deploy_failed', message: 'maestro.yml is not valid at abc123' } } });
    hooks.intake.answer = () => ({ ok: true, message: 'ok', urls: [], deploymentIds: [] });
    hooks.intakeWired = false;
    const unwired = await hooks.github('push', githubPush(upstream, main), { secret, delivery: 'unwired-1' });
    expect(unwired.status).toBe(503);
    expect(await hooks.store.hookDeliveries.get('github', 'unwired-1')).toBeUndefined();
    hooks.intakeWired = true;
  });

  it('refuses a payload over 25 MiB with 413 before reading more of it', async () => {
    const response = await request(`${hooks.url}/v1/hooks/github`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': 'sha256=0' },
      body: Buffer.alloc(25 * 1024 * 1024 + 1, 0x20),
    });
    expect(response.statusCode).toBe(413);
    expect(await response.body.json()).toEqual({
      error: { code: 'payload_too_large', message: 'the webhook payload is larger than 25 MiB, the most GitHub sends; nothing was done' },
    });
  });

  it('takes payloads larger than the API\'s usual 1 MiB limit', async () => {
    const sha = await upstream.commit('big');
    const payload = { ...githubPush(upstream, sha), commits: [{ id: sha, message: 'x'.repeat(3 * 1024 * 1024) }] };
    expect((await hooks.github('push', payload, { secret, delivery: 'big-1' })).status).toBe(202);
  });

  it('takes the form-encoded content type too, signed over the raw form', async () => {
    const sha = await upstream.commit('form');
    const form = new URLSearchParams({ payload: JSON.stringify(githubPush(upstream, sha)) }).toString();
    const response = await request(`${hooks.url}/v1/hooks/github`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-github-event': 'push', 'x-github-delivery': 'form-1', 'x-hub-signature-256': signWebhookBody(secret, form) },
      body: form,
    });
    expect(response.statusCode).toBe(202);
    expect(hooks.intake.calls.at(-1)!.intents).toEqual([{ kind: 'branch_updated', branch: 'main', sha }]);
  });
});

describe('GitLab webhooks', () => {
  let hooks: HookApi;
  let upstream: Upstream;
  const token = 'gitlab-secret-token-123';
  beforeAll(async () => {
    hooks = await startHookApi();
    upstream = await createUpstream();
    await hooks.api('PUT', '/v1/projects/diaspora/hooks/gitlab', { repository: 'mike/diaspora', secret: token });
  });
  afterAll(async () => hooks?.close());

  function push(before: string, after: string, ref = 'refs/heads/main'): Record<string, unknown> {
    const payload = copy(fixture('gitlab-push.json'));
    (payload.project as Record<string, unknown>).git_http_url = upstream.url;
    return { ...payload, ref, before, after, checkout_sha: after === ZERO ? null : after };
  }

  it('checks X-Gitlab-Token, fetches the pushed branch and says whether the push was forced', async () => {
    const first = await upstream.commit('one');
    expect((await hooks.gitlab('Push Hook', push(ZERO, first), { token: null, delivery: 'gl-0' })).status).toBe(401);
    expect((await hooks.gitlab('Push Hook', push(ZERO, first), { token: 'wrong', delivery: 'gl-0' })).status).toBe(401);
    expect(hooks.intake.calls).toHaveLength(0);

    expect((await hooks.gitlab('Push Hook', push(ZERO, first), { token, delivery: 'gl-1' })).status).toBe(202);
    expect(hooks.intake.calls.at(-1)).toMatchObject({
      project: 'diaspora',
      intents: [{ kind: 'branch_updated', branch: 'main', sha: first }],
      origin: { source: 'gitlab', actor: 'jsmith', providerRepository: 'mike/diaspora' },
    });
    const second = await upstream.commit('two');
    await hooks.gitlab('Push Hook', push(first, second), { token, delivery: 'gl-2' });
    expect(hooks.intake.calls.at(-1)!.intents).toEqual([{ kind: 'branch_updated', branch: 'main', sha: second, beforeSha: first, forced: false }]);
    upstream.git('reset', '--quiet', '--hard', first);
    const rewritten = await upstream.commit('rewritten');
    await hooks.gitlab('Push Hook', push(second, rewritten), { token, delivery: 'gl-3' });
    expect(hooks.intake.calls.at(-1)!.intents).toEqual([{ kind: 'branch_updated', branch: 'main', sha: rewritten, beforeSha: second, forced: true }]);
    await hooks.gitlab('Push Hook', push(rewritten, ZERO), { token, delivery: 'gl-4' });
    expect(hooks.intake.calls.at(-1)!.intents).toEqual([{ kind: 'branch_deleted', branch: 'main' }]);
  });

  it('dedupes by Idempotency-Key, else X-Gitlab-Event-UUID', async () => {
    const sha = await upstream.commit('three');
    const before = hooks.intake.calls.length;
    expect((await hooks.gitlab('Push Hook', push(ZERO, sha), { token, idempotencyKey: 'key-1', delivery: 'uuid-a' })).status).toBe(202);
    expect((await hooks.gitlab('Push Hook', push(ZERO, sha), { token, idempotencyKey: 'key-1', delivery: 'uuid-b' })).body).toMatchObject({ duplicate: true });
    expect((await hooks.gitlab('Push Hook', push(ZERO, sha), { token, delivery: 'uuid-c' })).status).toBe(202);
    expect((await hooks.gitlab('Push Hook', push(ZERO, sha), { token, delivery: 'uuid-c' })).body).toMatchObject({ duplicate: true });
    expect(hooks.intake.calls.length - before).toBe(2);
  });

  it('fetches an annotated tag and hands on the commit it points at', async () => {
    const sha = await upstream.commit('release');
    upstream.git('tag', '-a', 'v2.0.0', '-m', 'v2');
    const tagObject = upstream.git('rev-parse', 'refs/tags/v2.0.0');
    const payload = { ...push(ZERO, tagObject, 'refs/tags/v2.0.0'), object_kind: 'tag_push', checkout_sha: sha };
    expect((await hooks.gitlab('Tag Push Hook', payload, { token, delivery: 'tag-1' })).status).toBe(202);
    const call = hooks.intake.calls.at(-1)!;
    expect(call.intents).toEqual([{ kind: 'tag_pushed', tag: 'v2.0.0', sha }]);
    expect(refsOf(call.objects.repository)['refs/maestro/gitlab/tags/v2.0.0']).toBe(tagObject);
  });

  it("fetches a merge request's head branch from its source project; close ends it", async () => {
    upstream.git('checkout', '--quiet', '-b', 'ms-viewport');
    const head = await upstream.commit('viewport');
    upstream.git('checkout', '--quiet', 'main');
    const mr = copy(fixture('gitlab-merge-request.json'));
    (mr.project as Record<string, unknown>).path_with_namespace = 'mike/diaspora';
    const attributes = mr.object_attributes as Record<string, Record<string, unknown>>;
    attributes.source!.git_http_url = upstream.url;
    attributes.last_commit!.id = head;
    expect((await hooks.gitlab('Merge Request Hook', mr, { token, delivery: 'mr-1' })).status).toBe(202);
    const call = hooks.intake.calls.at(-1)!;
    expect(call.intents).toEqual([{ kind: 'pull_request_updated', number: 1, branch: 'ms-viewport', sha: head, baseBranch: 'master', title: 'MS-Viewport' }]);
    expect(refsOf(call.objects.repository)['refs/maestro/gitlab/merge-requests/1']).toBe(head);
    (mr.object_attributes as Record<string, unknown>).action = 'close';
    await hooks.gitlab('Merge Request Hook', mr, { token, delivery: 'mr-2' });
    expect(hooks.intake.calls.at(-1)!.intents).toEqual([{ kind: 'pull_request_closed', number: 1, merged: false }]);
  });
});
