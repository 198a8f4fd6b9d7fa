import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/common/index.js';
import { CommitStatuses, CommitStatusSender, describeStatus, statusContext } from '../../src/git-hosts/index.js';
import { openStore, type CommitStatusRecord, type Store } from '../../src/store/index.js';
import { eventually } from '../events/receiver.js';
import { startStatusServer, type StatusServer } from './status-server.js';

const TOKENS = { github: 'ghp_test_token', gitlab: 'glpat-test-token' };
const SHA = 'ec26c3e57ca3a959ca5aad62de7213c562f8c821';

describe('commit statuses out', () => {
  let store: Store;
  let dataDir: string;
  const servers: StatusServer[] = [];
  const senders: CommitStatusSender[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'maestro-statuses-'));
    store = await openStore({ dataDir });
  });
  afterAll(async () => {
    await Promise.all(senders.map((s) => s.stop()));
    await Promise.all(servers.map((s) => s.close()));
    await store?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function server(...args: Parameters<typeof startStatusServer> extends [unknown, ...infer Rest] ? Rest : never): Promise<StatusServer> {
    const started = await startStatusServer(TOKENS, ...args);
    servers.push(started);
    return started;
  }

  function sender(): CommitStatusSender {
    const started = new CommitStatusSender({ store, logger: silentLogger(), pollIntervalMs: 50, timeoutMs: 2000, retry: { baseDelayMs: 100, maxDelayMs: 400, maxAttempts: 5 } });
    started.start();
    senders.push(started);
    return started;
  }

  /** A project linked to both providers, statuses going to `statusServer` (or wherever `urls` say). */
  async function project(name: string, urls: { github: string; gitlab: string }) {
    const p = await store.projects.ensure(name);
    await store.projectHooks.set({ projectId: p.id, provider: 'github', repository: `octo-org/${name}`, secret: 's'.repeat(20), statusUrl: urls.github, statusToken: TOKENS.github });
    await store.projectHooks.set({ projectId: p.id, provider: 'gitlab', repository: `acme/web/${name}`, secret: 's'.repeat(20), statusUrl: urls.gitlab, statusToken: TOKENS.gitlab });
    return p;
  }

  const settled = (id: string) => eventually(async () => {
    const record = await store.commitStatuses.get(id);
    return record && (record.status === 'succeeded' || record.status === 'dead') ? record : undefined;
  }, 15_000);

  it('delivers a GitHub status after the provider comes back, in order: a later success never overtakes an earlier pending', async () => {
    const github = await server((n) => (n < 3 ? { status: 503 } : { status: 201 }));
    const p = await project('ordered', { github: github.githubUrl, gitlab: github.gitlabUrl });
    const statuses = new CommitStatuses(store);
    const context = statusContext('production');
    const pending = (await statuses.report({ project: p.name, origin: { source: 'github', providerRepository: 'octo-org/ordered' }, sha: SHA, context, outcome: { kind: 'building', environment: 'production' } }))!;
    const success = (await statuses.report({
      project: p.name,
      origin: { source: 'github', providerRepository: 'octo-org/ordered' },
      sha: SHA,
      context,
      outcome: { kind: 'deployed', environment: 'production', url: 'http://web.production.ordered.localhost:8080/' },
    }))!;
    sender();
    expect(await settled(success.id)).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(await store.commitStatuses.get(pending.id)).toMatchObject({ status: 'succeeded', attempts: 4 });
    expect(github.calls.map((c) => [c.body.state, c.status])).toEqual([
      ['pending', 503],
      ['pending', 503],
      ['pending', 503],
      ['pending', 201],
      ['success', 201],
    ]);
    for (const call of github.calls) expect(call.problems).toEqual([]);
    expect(github.calls.at(-1)).toMatchObject({
      provider: 'github',
      repository: 'octo-org/ordered',
      sha: SHA,
      body: { state: 'success', context: 'maestro/production', description: 'Deployed to production: http://web.production.ordered.localhost:8080/', target_url: 'http://web.production.ordered.localhost:8080/' },
    });
    // The waits grew: 100, 200, 400 ms (the policy's), not a tight loop.
    const gaps = github.calls.slice(1, 4).map((call, i) => call.at - github.calls[i]!.at);
    expect(gaps[0]).toBeGreaterThanOrEqual(90);
    expect(gaps[2]).toBeGreaterThanOrEqual(350);
  });

  it('sends GitLab its own states and names, to the URL-encoded project path, waiting as Retry-After asks', async () => {
    const gitlab = await server((n) => (n === 0 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 201 }));
    const p = await project('gitlab-shapes', { github: gitlab.githubUrl, gitlab: gitlab.gitlabUrl });
    const statuses = new CommitStatuses(store);
    const outcomes = [
      { kind: 'building', environment: 'pr-1' },
      { kind: 'failed', environment: 'pr-1', reason: 'the build step exited with 2' },
      { kind: 'cancelled', environment: 'pr-1' },
      { kind: 'deployed', environment: 'pr-1', url: 'http://web.pr-1.shop.localhost:8080/' },
    ] as const;
    const records: CommitStatusRecord[] = [];
    for (const outcome of outcomes) {
      records.push((await statuses.report({ project: p.name, origin: { source: 'gitlab', providerRepository: 'acme/web/gitlab-shapes' }, sha: SHA, context: 'maestro/pr-1', outcome }))!);
    }
    sender();
    await settled(records.at(-1)!.id);
    expect(gitlab.calls.map((c) => c.body.state)).toEqual(['running', 'running', 'failed', 'canceled', 'success']);
    for (const call of gitlab.calls) expect(call.problems).toEqual([]);
    expect(gitlab.calls[0]).toMatchObject({ provider: 'gitlab', repository: 'acme/web/gitlab-shapes', body: { name: 'maestro/pr-1', description: 'Building for pr-1' } });
    expect(gitlab.calls[1]!.at - gitlab.calls[0]!.at).toBeGreaterThanOrEqual(950);
    expect(gitlab.calls[2]!.body.description).toBe('Failed in pr-1: the build step exited with 2');
  });

  it('gives up at once on a refusal that will not change, saying what the provider said', async () => {
    const refusing = await server(() => ({ status: 401, body: '{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}' }));
    const p = await project('refused', { github: refusing.githubUrl, gitlab: refusing.gitlabUrl });
    const record = (await new CommitStatuses(store).enqueue({ projectId: p.id, provider: 'github', repository: 'octo-org/refused', sha: SHA, state: 'pending', context: 'maestro/production', description: 'Building' }))!;
    sender();
    expect(await settled(record.id)).toMatchObject({
      status: 'dead',
      attempts: 1,
      lastError: 'GitHub answered 401: {"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"} (not retried: the request itself was refused)',
    });
  });

  it('a provider that is down delays only its own statuses, and they die after the retry budget', async () => {
    const up = await server();
    const p = await project('one-down', { github: 'http://127.0.0.1:1/api/v3', gitlab: up.gitlabUrl });
    const statuses = new CommitStatuses(store);
    const down = (await statuses.enqueue({ projectId: p.id, provider: 'github', repository: 'octo-org/one-down', sha: SHA, state: 'pending', context: 'maestro/production', description: 'Building' }))!;
    const fine = (await statuses.enqueue({ projectId: p.id, provider: 'gitlab', repository: 'acme/web/one-down', sha: SHA, state: 'pending', context: 'maestro/production', description: 'Building' }))!;
    sender();
    expect(await settled(fine.id)).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(await settled(down.id)).toMatchObject({ status: 'dead', attempts: 5, lastError: expect.stringMatching(/ECONNREFUSED.*\(gave up after 5 attempts\)/) });
  });

  it('queues reports in the order they were made, even when the caller does not wait for each', async () => {
    const p = await project('fire-and-forget', { github: 'http://127.0.0.1:1/api/v3', gitlab: 'http://127.0.0.1:1/api/v4' });
    const statuses = new CommitStatuses(store);
    const origin = { source: 'github' as const, providerRepository: 'octo-org/fire-and-forget' };
    const shas = Array.from({ length: 10 }, (_, i) => String(i).repeat(40));
    await Promise.all(
      shas.flatMap((sha) => [
        statuses.report({ project: p.name, origin, sha, context: 'maestro/production', outcome: { kind: 'building', environment: 'production' } }),
        statuses.report({ project: p.name, origin, sha, context: 'maestro/production', outcome: { kind: 'rolling_out', environment: 'production' } }),
        statuses.report({ project: p.name, origin, sha, context: 'maestro/production', outcome: { kind: 'deployed', environment: 'production', url: 'http://web.production.x.localhost:8080/' } }),
      ]),
    );
    for (const sha of shas) {
      const queued = (await store.commitStatuses.list({ projectId: p.id, sha })).reverse(); // oldest first
      expect(queued.map((s) => s.description.split(' ')[0])).toEqual(['Building', 'Built;', 'Deployed']);
    }
  });

  it('queues nothing for a project without a status token, and words each moment within 140 characters', async () => {
    const p = await store.projects.ensure('no-token');
    await store.projectHooks.set({ projectId: p.id, provider: 'github', repository: 'octo-org/no-token', secret: 's'.repeat(20) });
    const statuses = new CommitStatuses(store);
    expect(await statuses.enqueue({ projectId: p.id, provider: 'github', repository: 'octo-org/no-token', sha: SHA, state: 'pending', context: 'maestro/x', description: 'x' })).toBeUndefined();
    expect(await statuses.report({ project: p.name, origin: { source: 'push' }, sha: SHA, context: 'maestro/x', outcome: { kind: 'building', environment: 'x' } })).toBeUndefined();
    expect(await store.commitStatuses.list({ projectId: p.id })).toEqual([]);

    const long = describeStatus({ kind: 'failed', environment: 'production', reason: `health check failed: ${'x'.repeat(300)}` });
    expect(long.state).toBe('failure');
    expect(long.description).toHaveLength(140);
    expect(long.description.endsWith('…')).toBe(true);
    expect(describeStatus({ kind: 'rolling_out', environment: 'production' })).toEqual({ state: 'pending', description: 'Built; rolling out to production' });
    expect(describeStatus({ kind: 'cancelled', environment: 'pr-3', reason: 'a newer commit' })).toEqual({ state: 'error', description: 'Cancelled in pr-3: a newer commit' });
    expect(statusContext('preview', 'web')).toBe('maestro/preview/web');
  });
});
