import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signWebhookBody } from '../../src/events/index.js';
import { cli, startTestMaestro, stopTestMaestro, type TestMaestro } from '../e2e/harness.js';
import { eventually } from '../events/receiver.js';
import { copy, githubExamples } from './examples.js';
import { RecordingIntake } from './hook-api.js';
import { startStatusServer, type StatusServer } from './status-server.js';
import { createUpstream } from './upstream.js';

/**
 * A whole Maestro: `maestro hooks` from the command line, GitHub's webhook on the API port without a
 * bearer token, the control plane's intake, and the status sender it starts and stops.
 */
describe('hooks in a running Maestro', () => {
  let maestro: TestMaestro;
  let statuses: StatusServer;

  beforeAll(async () => {
    statuses = await startStatusServer({ github: 'ghp_from_env', gitlab: 'unused' });
    maestro = await startTestMaestro();
  }, 60_000);
  afterAll(async () => {
    await stopTestMaestro(maestro);
    await statuses?.close();
  }, 30_000);

  it('links a project from the command line with secrets from the environment, takes a signed push, and reports a status back', async () => {
    const env = { ...maestro.env, HOOK_SECRET: 'a-webhook-secret-of-some-length', GH_TOKEN: 'ghp_from_env' };
    const set = await cli(['hooks', 'set', 'github', '--project', 'shop', '--repository', 'Codertocat/Hello-World', '--secret-env', 'HOOK_SECRET', '--status-url', statuses.githubUrl, '--status-token-env', 'GH_TOKEN'], env);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain(`Payload URL ${maestro.apiUrl}/v1/hooks/github, Content type application/json`);
    expect(set.stdout).toContain(`commit statuses go to ${statuses.githubUrl}`);
    expect(set.stdout).not.toContain('a-webhook-secret-of-some-length'); // given by the user: not echoed
    expect(set.stdout).not.toContain('ghp_from_env');

    const missing = await cli(['hooks', 'set', 'gitlab', '--project', 'shop', '--repository', 'acme/shop', '--secret-env', 'NOT_SET_ANYWHERE'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--secret-env NOT_SET_ANYWHERE: the environment variable NOT_SET_ANYWHERE is not set');

    const ls = await cli(['hooks', 'ls', '--project', 'shop'], env);
    expect(ls.stdout).toMatch(/github\s+Codertocat\/Hello-World\s+\/v1\/hooks\/github\s+http:\/\/127\.0\.0\.1:\d+\/github\/api\/v3/);

    // The control plane's intake takes the delivery; this one records it.
    const intake = new RecordingIntake();
    maestro.plane.hookIntake = intake;
    const upstream = await createUpstream();
    const sha = await upstream.commit('first');
    const payload = copy(githubExamples('push').find((e) => e.label.startsWith('api.github.com') && e.payload.ref === 'refs/heads/master')!.payload);
    (payload.repository as Record<string, unknown>).clone_url = upstream.url;
    const body = JSON.stringify({ ...payload, after: sha });
    const deliver = () =>
      request(`${maestro.apiUrl}/v1/hooks/github`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': 'e2e-1', 'x-hub-signature-256': signWebhookBody('a-webhook-secret-of-some-length', body) },
        body,
      });
    // A real Maestro fetches over https and http only; the file:// clone URL of this test is refused, saying so.
    const refused = await deliver();
    expect(refused.statusCode).toBe(400);
    expect(((await refused.body.json()) as { error: { message: string } }).error.message).toBe("the payload's clone URL uses file; Maestro fetches over https or http only");
    expect(intake.calls).toHaveLength(0);

    const queued = await maestro.plane.commitStatuses.report({
      project: 'shop',
      origin: { source: 'github', providerRepository: 'Codertocat/Hello-World' },
      sha,
      context: 'maestro/production',
      outcome: { kind: 'building', environment: 'production' },
    });
    expect(queued).toBeDefined();
    await eventually(async () => (statuses.calls.length > 0 ? true : undefined));
    expect(statuses.calls[0]).toMatchObject({ provider: 'github', repository: 'Codertocat/Hello-World', sha, problems: [], body: { state: 'pending', context: 'maestro/production' } });
    await eventually(async () => ((await maestro.store.commitStatuses.get(queued!.id))?.status === 'succeeded' ? true : undefined));
    const listed = await cli(['hooks', 'statuses', '--project', 'shop'], env);
    expect(listed.stdout).toMatch(new RegExp(`github\\s+${sha.slice(0, 12)}\\s+maestro/production\\s+pending\\s+sent \\(1 try\\)`));

    const rm = await cli(['hooks', 'rm', 'github', '--project', 'shop'], env);
    expect(rm.stdout.trim()).toBe('project shop no longer takes github webhooks');
    expect((await deliver()).statusCode).toBe(404);
  });
});
