import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateToken, hashToken } from '../../src/identity/index.js';
import { gatePolicies, type PolicyDecision } from '../../src/policy/index.js';
import { DEFAULT_OPTIONS, startMaestro } from '../../src/server/index.js';
import { silentLogger } from '../../src/common/index.js';
import { cli, startTestMaestro, stopTestMaestro, type TestMaestro } from '../e2e/harness.js';
import { rejection } from '../errors.js';
import { DIGEST, OTHER_DIGEST, input } from './facts.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/policies/', import.meta.url));
const EXAMPLE_INPUT = join(EXAMPLES, 'input.json');

describe('policies through the API and the CLI', () => {
  let maestro: TestMaestro;
  let scratch: string;

  async function api<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, token = maestro.token): Promise<{ status: number; body: T }> {
    const response = await request(`${maestro.apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.statusCode, body: (await response.body.json()) as T };
  }

  /** The example input as JSON, with changes. */
  const exampleInput = (changes: Record<string, unknown> = {}) => {
    const { environment: _environment, ...document } = input();
    return { ...document, time: { now: '2025-03-12T10:30:00Z' }, ...changes };
  };

  beforeAll(async () => {
    maestro = await startTestMaestro({ policiesDir: EXAMPLES });
    scratch = await mkdtemp(join(tmpdir(), 'maestro-policy-cli-'));
  }, 30_000);

  afterAll(async () => {
    await stopTestMaestro(maestro);
    await rm(scratch, { recursive: true, force: true });
  }, 30_000);

  it('a dry run evaluates the defaults, the organisation folder and the given project policies, recording nothing', async () => {
    const policies = [{ name: 'mit-only', expression: 'input.sbom.licenses.all(l, l == "MIT")', message: 'only MIT' }];
    const ok = await api<PolicyDecision>('POST', '/v1/policies/dryrun', { policies, input: exampleInput(), environment: 'production' });
    expect(ok.status).toBe(200);
    expect(ok.body.outcome).toBe('allow');
    expect(ok.body.results.map((r) => `${r.source}:${r.policy}`)).toEqual([
      'default:sbom-present',
      'default:artifact-signed',
      'default:no-critical-vulnerabilities',
      'default:tests-passed',
      'default:vulnerability-scan-complete',
      'organisation:line-coverage',
      'organisation:weekend-freeze',
      'organisation:no-critical-or-high-vulnerabilities',
      'project:mit-only',
    ]);
    expect(ok.body.skipped).toEqual([{ policy: 'weekend-freeze-notice', source: 'organisation', environments: ['pr-*', 'staging'] }]);
    const openapi = await api<{ paths: Record<string, unknown> }>('GET', '/v1/openapi.json');
    expect(Object.keys(openapi.body.paths)).toEqual(
      expect.arrayContaining(['/v1/policies/dryrun', '/v1/projects/{project}/waivers', '/v1/projects/{project}/waivers/{id}', '/v1/deployments/{id}/policy']),
    );

    // A Saturday: the freeze denies production.
    const saturday = await api<PolicyDecision>('POST', '/v1/policies/dryrun', { input: exampleInput({ time: { now: '2025-03-15T12:00:00Z' } }) });
    expect(saturday.body.outcome).toBe('deny');
    expect(saturday.body.results.filter((r) => !r.passed).map((r) => r.policy)).toEqual(['weekend-freeze']);
  });

  it('a dry run refuses policies that do not compile and inputs that are not input documents, saying where', async () => {
    const bad = await api<{ error: { code: string; message: string; details: { problems: unknown[] } } }>('POST', '/v1/policies/dryrun', {
      policies: [{ name: 'x', expression: 'input.sbom.componets.size() > 0', message: 'm' }],
      input: exampleInput(),
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toBe('policies[0].expression (at character 12): input.sbom has no field `componets`; did you mean `components`?');
    expect(bad.body.error.details.problems).toEqual([{ path: 'policies[0].expression', offset: 11, message: 'input.sbom has no field `componets`; did you mean `components`?' }]);

    const badInput = await api<{ error: { message: string } }>('POST', '/v1/policies/dryrun', { input: { ...exampleInput(), build: { testsPassed: 'yes', durationMs: 1 } } });
    expect(badInput.status).toBe(400);
    expect(badInput.body.error.message).toMatch(/body\.input\.build\.testsPassed/);

    const otherEnvironment = await api<{ error: { message: string } }>('POST', '/v1/policies/dryrun', {
      input: exampleInput({ environment: { name: 'staging', kind: 'other' } }),
      environment: 'production',
    });
    expect(otherEnvironment.status).toBe(400);
    expect(otherEnvironment.body.error.message).toMatch(/input.environment.name is "staging" but the dry run is for "production"/);
  });

  it("waives, lists and revokes; a waiver counts in a dry run for its project; waiving is an event", async () => {
    await maestro.store.projects.ensure('shop');
    const vulnerable = exampleInput({ vulnerabilities: { status: 'complete', counts: { critical: 0, high: 2, medium: 0, low: 0, unknown: 0 }, ids: ['GHSA-a', 'GHSA-b'] } });
    const denied = await api<PolicyDecision>('POST', '/v1/policies/dryrun', { input: vulnerable, project: 'shop' });
    expect(denied.body.outcome).toBe('deny');

    const created = await api<{ waiver: { id: string; state: string; artifact: string; waivedBy: string; expiresAt: string }; note?: string }>('POST', '/v1/projects/shop/waivers', {
      policy: 'no-critical-or-high-vulnerabilities',
      artifact: DIGEST,
      reason: 'the vulnerable parser is never reached',
    });
    expect(created.status).toBe(201);
    expect(created.body.waiver).toMatchObject({ id: expect.stringMatching(/^wvr_/), state: 'active', artifact: DIGEST, waivedBy: 'admin' });
    expect(created.body.note).toBeUndefined();

    const waived = await api<PolicyDecision>('POST', '/v1/policies/dryrun', { input: vulnerable, project: 'shop' });
    expect(waived.body.outcome).toBe('allow');
    expect(waived.body.results.find((r) => r.policy === 'no-critical-or-high-vulnerabilities')?.waived).toMatchObject({ by: 'admin', reason: 'the vulnerable parser is never reached' });
    // Another artifact is not covered.
    const other = await api<PolicyDecision>('POST', '/v1/policies/dryrun', { input: { ...vulnerable, artifact: { ...input().artifact, digest: OTHER_DIGEST } }, project: 'shop' });
    expect(other.body.outcome).toBe('deny');

    const events = await api<{ events: { type: string; actor: string; reason: string; data: Record<string, unknown> }[] }>('GET', '/v1/events?type=policy.waived&project=shop');
    expect(events.body.events).toEqual([
      expect.objectContaining({
        type: 'policy.waived',
        actor: 'admin',
        reason: 'the vulnerable parser is never reached',
        data: { waiver: created.body.waiver.id, policy: 'no-critical-or-high-vulnerabilities', artifact: DIGEST, environment: null, expiresAt: created.body.waiver.expiresAt },
      }),
    ]);

    const timed = await api<{ waiver: { id: string }; note: string }>('POST', '/v1/projects/shop/waivers', { policy: 'weekend-frieze', for: '2h', environment: 'production', reason: 'hotfix' });
    expect(timed.status).toBe(201);
    expect(timed.body.note).toMatch(/no organisation or default policy is named "weekend-frieze" \(did you mean "weekend-freeze"\?\)/);

    const revoked = await api<{ waiver: { state: string; revokedAt: string } }>('DELETE', `/v1/projects/shop/waivers/${timed.body.waiver.id}`);
    expect(revoked.body.waiver.state).toBe('revoked');
    const active = await api<{ waivers: { id: string }[] }>('GET', '/v1/projects/shop/waivers');
    expect(active.body.waivers.map((w) => w.id)).toEqual([created.body.waiver.id]);
    const all = await api<{ waivers: { id: string; state: string }[] }>('GET', '/v1/projects/shop/waivers?all=true');
    expect(all.body.waivers.map((w) => w.state)).toEqual(['revoked', 'active']);

    const both = await api<{ error: { message: string } }>('POST', '/v1/projects/shop/waivers', { policy: 'x', artifact: DIGEST, for: '1h', reason: 'r' });
    expect(both.status).toBe(400);
    expect(both.body.error.message).toMatch(/one artifact or a time, not both/);
    expect((await api('GET', '/v1/projects/nope/waivers')).status).toBe(404);
  });

  it('a read-only token may list waivers but not waive or revoke', async () => {
    const token = generateToken();
    await maestro.store.tokens.create({ name: 'dashboard', hash: hashToken(token), role: 'viewer' });
    await maestro.store.projects.ensure('shop');
    expect((await api('GET', '/v1/projects/shop/waivers', undefined, token)).status).toBe(200);
    const refused = await api<{ error: { code: string; message: string } }>('POST', '/v1/projects/shop/waivers', { policy: 'tests-passed', for: '1h', reason: 'r' }, token);
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toBe('policy:waive is needed on project shop; token "dashboard" has role viewer across the organisation');
  });

  it("shows the gate's decision on a deployment", async () => {
    const project = await maestro.store.projects.ensure('gated');
    const service = await maestro.store.services.ensure(project.id, 'web');
    const environment = await maestro.store.environments.ensure(project.id, 'production');
    const { deployment } = await maestro.store.deployments.createOrGetInProgress({ projectId: project.id, serviceId: service.id, environmentId: environment.id, sourceDigest: DIGEST, config: {} });
    const before = await api<{ error: { message: string } }>('GET', `/v1/deployments/${deployment.id}/policy`);
    expect(before.status).toBe(404);
    expect(before.body.error.message).toMatch(/has no policy evaluation yet/);

    const document = input({ artifact: { digest: DIGEST, signed: false } });
    await gatePolicies({ store: maestro.store, project: 'gated', environment: 'production', input: document, organisation: maestro.policies, deploymentId: deployment.id });
    const shown = await api<{ outcome: string; evaluations: number; input: unknown; results: { policy: string; passed: boolean }[] }>('GET', `/v1/deployments/${deployment.id}/policy`);
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({ outcome: 'deny', evaluations: 1, input: JSON.parse(JSON.stringify(document)) });
    expect(shown.body.results.filter((r) => !r.passed).map((r) => r.policy)).toEqual(['artifact-signed']);

    const cliShown = await cli(['policy', 'show', deployment.id], maestro.env);
    expect(cliShown.code).toBe(0);
    expect(cliShown.stdout).toMatch(/DENY\s+artifact-signed\s+default\s+the artifact is not signed/);
    expect(cliShown.stdout).toMatch(/denied: artifact-signed/);
  });

  it('maestro policy test: locally from a file, or on the server; exit 1 when denied', async () => {
    const manifest = join(scratch, 'maestro.yml');
    await writeFile(
      manifest,
      'project: shop\nservices:\n  web: { start: node server.js }\npolicies:\n  - name: small-build\n    expression: input.build.durationMs < 30000\n    message: the build takes too long\n',
    );
    // Independent invocations run side by side: each is a process of its own.
    const [allowed, local, onServer] = await Promise.all([
      cli(['policy', 'test', join(EXAMPLES, 'freeze-window.yml'), '--input', EXAMPLE_INPUT]),
      cli(['policy', 'test', manifest, '--input', EXAMPLE_INPUT, '--json']),
      cli(['policy', 'test', manifest, '--input', EXAMPLE_INPUT, '--server', '--env', 'pr-3'], maestro.env),
    ]);
    expect(allowed).toMatchObject({ code: 0, stderr: '' });
    expect(allowed.stdout).toMatch(/^PASS\s+weekend-freeze\s+organisation/m);
    expect(allowed.stdout).toMatch(/^SKIP\s+weekend-freeze-notice\s+organisation\s+applies to pr-\*, staging only/m);

    expect(local.code).toBe(1);
    expect(JSON.parse(local.stdout)).toMatchObject({ outcome: 'deny', results: [{ policy: 'small-build', source: 'project', passed: false, message: 'the build takes too long' }] });

    expect(onServer.code).toBe(1);
    expect(onServer.stdout).toMatch(/^DENY\s+small-build\s+project\s+the build takes too long/m);
    expect(onServer.stdout).toMatch(/^PASS\s+sbom-present\s+default/m);
    expect(onServer.stdout).toMatch(/^SKIP\s+line-coverage\s+organisation\s+applies to production only/m);

    await writeFile(manifest, 'project: shop\nservices:\n  web: { start: node server.js }\npolicies:\n  - name: small-build\n    expression: input.build.duraton < 30000\n    message: m\n');
    const [broken, validated] = await Promise.all([cli(['policy', 'test', manifest, '--input', EXAMPLE_INPUT]), cli(['validate', manifest])]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain(`${manifest}:6:29: policies[0].expression: input.build has no field \`duraton\`; its fields are testsPassed, coverage, durationMs`);
    expect(validated.code).toBe(1);
    expect(validated.stdout).toContain(`${manifest}:6:29: policies[0].expression: input.build has no field`);
  });

  it('maestro policy waive, waivers and revoke', async () => {
    await maestro.store.projects.ensure('cli-shop');
    const waived = await cli(['policy', 'waive', 'tests-passed', '--project', 'cli-shop', '--for', '24h', '--env', 'staging', '--reason', 'flaky suite, fixed in #42'], maestro.env);
    expect(waived.code).toBe(0);
    const id = /\((wvr_[a-z2-7]+)\)/.exec(waived.stdout)?.[1];
    expect(waived.stdout).toMatch(/^waived tests-passed in cli-shop for any artifact in staging until \S+ \(wvr_/);

    const listed = await cli(['policy', 'waivers', '--project', 'cli-shop'], maestro.env);
    expect(listed.stdout).toMatch(new RegExp(`${id}\\s+tests-passed\\s+any artifact in staging\\s+active\\s+\\S+\\s+admin\\s+flaky suite, fixed in #42`));

    const usage = await cli(['policy', 'waive', 'tests-passed', '--project', 'cli-shop', '--reason', 'r'], maestro.env);
    expect(usage.code).toBe(1);
    expect(usage.stderr).toMatch(/say what the waiver covers/);

    const revoked = await cli(['policy', 'revoke', id!, '--project', 'cli-shop'], maestro.env);
    expect(revoked.stdout).toContain(`revoked ${id} (tests-passed for any artifact in staging)`);
    expect((await cli(['policy', 'waivers', '--project', 'cli-shop'], maestro.env)).stdout.trim()).toBe('no active waivers in cli-shop');
    expect((await cli(['policy', 'waivers', '--project', 'cli-shop', '--all', '--json'], maestro.env)).stdout).toContain('"state": "revoked"');
  });
});

describe('maestro up --policies', () => {
  it('refuses to start with a broken policy folder, naming every problem', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'maestro-bad-policies-'));
    try {
      await writeFile(join(dir, 'org.yml'), 'policies:\n  - name: signed\n    expression: input.artifact.signd\n    message: m\n');
      const error = await rejection(
        startMaestro({ ...DEFAULT_OPTIONS, dataDir: join(dir, 'data'), apiPort: 0, routerPort: 0, routerAdminPort: 0, logger: silentLogger(), policiesDir: dir }),
      );
      expect(error.message).toContain(`${join(dir, 'org.yml')}:3:32: policies[0].expression: input.artifact has no field \`signd\`; did you mean \`signed\`?`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
