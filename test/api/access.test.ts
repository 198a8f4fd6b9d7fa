/**
 * Every registered route, with a token of every role: allowed exactly when the route's declared
 * permission is in the role's row of the matrix, refused with a 403 that names it otherwise. A route
 * added without a permission fails the API's start, and so this suite.
 */
import type { FastifyRequest, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeclaredRoute } from '../../src/api/auth.js';
import { buildApi } from '../../src/api/index.js';
import { silentLogger } from '../../src/common/index.js';
import { roleAllows, type Permission } from '../../src/identity/index.js';
import { ALL_ROLES, errorText, startApiHarness, type ApiHarness } from './harness.js';

/** Routes anyone may call: each checks a credential of its own, or hands one out. Adding one is a decision, so it is listed. */
const PUBLIC_ROUTES = [
  'GET /healthz',
  'HEAD /healthz',
  'POST /v1/auth/login',
  'POST /v1/auth/logout',
  'POST /v1/router/wake',
  'POST /v1/hooks/github',
  'POST /v1/hooks/gitlab',
  'GET /git/:repo/*',
  'POST /git/:repo/*',
  'POST /git-hooks/pre-receive',
].sort();

/** Path parameters that name nothing, so an allowed request finds nothing to change; the project exists, so project scoping matters. */
const PARAMS: Record<string, string> = {
  project: 'shop',
  service: 'web',
  environment: 'staging',
  name: 'nothing-here',
  id: 'none',
  email: 'nobody@example.com',
  provider: 'github',
  digest: '0'.repeat(64),
  hash: 'abc123',
  repo: 'shop.git',
};

/** Streams that would stay open are pointed at something that does not exist, so they answer at once. */
const QUERY: Record<string, string> = { '/v1/events/stream': '?project=nothing-here' };

function fill(url: string, params: Record<string, string>): string {
  return url.replace(/:([A-Za-z]+)/g, (_, name: string) => encodeURIComponent(params[name] ?? 'x')).replace('*', 'info/refs');
}

function requestFor(route: DeclaredRoute, params: Record<string, string> = PARAMS): InjectOptions {
  const url = fill(route.url, params) + (QUERY[route.url] ?? '');
  const method = route.method as InjectOptions['method'];
  if (route.method === 'GET' || route.method === 'HEAD') return { method, url };
  const binary = route.url.startsWith('/v8/artifacts/') || route.url.startsWith('/nx/') || route.url === '/v1/sources' || route.url === '/v1/artifacts/:digest';
  return binary
    ? { method, url, payload: Buffer.from('not an archive'), headers: { 'content-type': 'application/octet-stream' } }
    : { method, url, payload: {} };
}

/** What the route declared for this request: the guard's own input, read the way the guard reads it. */
async function declaredPermission(route: DeclaredRoute, request: InjectOptions): Promise<Permission | 'signed-in'> {
  const declared = route.config.permission!;
  if (typeof declared === 'string') return declared;
  if ('signedIn' in declared) return 'signed-in';
  if (typeof declared.permission === 'string') return declared.permission;
  const params = Object.fromEntries([...route.url.matchAll(/:([A-Za-z]+)/g)].map(([, name]) => [name!, PARAMS[name!] ?? 'x']));
  return declared.permission({ params, query: {}, body: request.payload, headers: {} } as unknown as FastifyRequest);
}

describe('access to every route', () => {
  let harness: ApiHarness;
  beforeAll(async () => {
    harness = await startApiHarness();
    await harness.maestro.store.projects.ensure('shop');
    await harness.maestro.store.projects.ensure('other');
  }, 60_000);
  afterAll(async () => harness?.close());

  it('has exactly the public routes it means to have, and a permission on every other one', () => {
    const routes = harness.routes;
    expect(routes.length).toBeGreaterThan(80);
    expect(routes.filter((route) => route.config.public).map((route) => `${route.method} ${route.url}`).sort()).toEqual(PUBLIC_ROUTES);
    for (const route of routes.filter((r) => !r.config.public)) expect(route.config.permission, `${route.method} ${route.url}`).toBeDefined();
  });

  it('refuses to start with a route that declares no permission', async () => {
    const app = await buildApi({
      plane: harness.maestro.plane,
      store: harness.maestro.store,
      logger: silentLogger(),
      maxUploadBytes: 1024,
      version: 'test',
      policies: harness.maestro.policies,
    });
    expect(() => app.get('/v1/forgotten', async () => ({ secret: true }))).toThrow('GET /v1/forgotten declares no permission: add config: { permission: ... }');
    await app.close();
  });

  it('allows each role exactly what the matrix gives it, and names the missing permission when not', async () => {
    const problems: string[] = [];
    const counts = { allowed: 0, denied: 0 };
    for (const route of harness.routes.filter((r) => !r.config.public)) {
      const request = requestFor(route);
      const permission = await declaredPermission(route, request);
      for (const role of ALL_ROLES) {
        const answer = await harness.inject({ ...request, token: harness.tokens[role] });
        const where = `${route.method} ${route.url} as ${role} (needs ${permission})`;
        const allowed = permission === 'signed-in' || roleAllows(role, permission);
        counts[allowed ? 'allowed' : 'denied'] += 1;
        if (allowed) {
          if (answer.statusCode === 401 || answer.statusCode === 403) problems.push(`${where}: refused ${answer.statusCode} ${errorText(answer.body)}`);
          continue;
        }
        if (answer.statusCode !== 403) {
          problems.push(`${where}: answered ${answer.statusCode}, not 403`);
          continue;
        }
        if (route.method === 'HEAD') continue;
        const message = errorText(answer.body);
        if (!message.startsWith(`${permission} is needed`) || !message.includes(`has role ${role}`)) problems.push(`${where}: said "${message}"`);
      }
    }
    expect(problems).toEqual([]);
    expect(counts.allowed).toBeGreaterThan(250);
    expect(counts.denied).toBeGreaterThan(100);
  }, 120_000);

  it("refuses a project's token on every route about another project, and lets it in on its own", async () => {
    const scoped = await harness.token('shop-owner', 'owner', { project: 'shop' });
    const problems: string[] = [];
    for (const route of harness.routes.filter((r) => !r.config.public && r.url.includes(':project') && r.method !== 'HEAD')) {
      const elsewhere = await harness.inject({ ...requestFor(route, { ...PARAMS, project: 'other' }), token: scoped });
      const message = errorText(elsewhere.body);
      if (elsewhere.statusCode !== 403 || !message.includes('on project other; token "shop-owner" has role owner on project shop')) {
        problems.push(`${route.method} ${route.url} on other: ${elsewhere.statusCode} ${message}`);
      }
      const home = await harness.inject({ ...requestFor(route), token: scoped });
      if (home.statusCode === 401 || home.statusCode === 403) problems.push(`${route.method} ${route.url} on shop: ${home.statusCode} ${errorText(home.body)}`);
    }
    expect(problems).toEqual([]);
    // Nor does it reach what is not about a project, such as listing every deployment.
    const all = await harness.inject({ method: 'GET', url: '/v1/deployments', token: scoped });
    expect(all.statusCode).toBe(403);
    expect(errorText(all.body)).toBe('project:view is needed across the organisation; token "shop-owner" has role owner on project shop');
    const filtered = await harness.inject({ method: 'GET', url: '/v1/deployments?project=shop', token: scoped });
    expect(filtered.statusCode).toBe(200);
    const projects = await harness.inject({ method: 'GET', url: '/v1/projects', token: scoped });
    expect(projects.json().projects.map((project: { name: string }) => project.name)).toEqual(['shop']);
  });

  it('answers 401 for missing, unknown, forged, expired and revoked tokens, and for a forged session', async () => {
    const expired = await harness.token('expired', 'owner', { expiresAt: new Date(Date.now() - 1000) });
    const revoked = await harness.token('revoked', 'owner');
    await harness.maestro.store.tokens.revoke('revoked');
    const cases: Array<[string, InjectOptions & { token?: string }, RegExp]> = [
      ['no credentials', { method: 'GET', url: '/v1/projects' }, /^missing API token/],
      ['an unknown token', { method: 'GET', url: '/v1/projects', token: 'mae_' + 'x'.repeat(32) }, /^the API token is not valid/],
      ['a forged token', { method: 'GET', url: '/v1/projects', token: harness.tokens.owner.slice(0, -2) + 'zz' }, /^the API token is not valid/],
      ['an expired token', { method: 'GET', url: '/v1/projects', token: expired }, /^the API token "expired" expired at/],
      ['a revoked token', { method: 'GET', url: '/v1/projects', token: revoked }, /^the API token is not valid/],
      ['a forged session', { method: 'GET', url: '/v1/projects', cookies: { maestro_session: 'mas_' + 'y'.repeat(43) } }, /^the session is not valid/],
    ];
    for (const [what, request, message] of cases) {
      const answer = await harness.inject(request);
      expect(answer.statusCode, what).toBe(401);
      expect(answer.json().error.message, what).toMatch(message);
    }
    // Before its body is read: an unauthenticated upload is refused without taking it.
    const upload = await harness.inject({ method: 'POST', url: '/v1/sources', payload: Buffer.alloc(1024), headers: { 'content-type': 'application/gzip' } });
    expect(upload.statusCode).toBe(401);
  });
});
