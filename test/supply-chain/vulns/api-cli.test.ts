import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VulnerabilityScanResult } from '../../../src/supply-chain/vulns/index.js';
import { cli, startTestMaestro, stopTestMaestro, type TestMaestro } from '../../e2e/harness.js';
import { component, copyOfSharedOsv, tempDir } from './fixtures.js';

describe('vulnerability scans through the API and the CLI', () => {
  let maestro: TestMaestro;
  let dir: { path: string; remove(): Promise<void> };
  let osv: string;
  let buildId: string;

  async function newBuild(project: string): Promise<string> {
    const { store } = maestro;
    const p = await store.projects.ensure(project);
    const service = await store.services.ensure(p.id, 'web');
    const environment = await store.environments.ensure(p.id, 'production');
    const { deployment } = await store.deployments.createOrGetInProgress({ projectId: p.id, serviceId: service.id, environmentId: environment.id, sourceDigest: 'c'.repeat(64), config: {} });
    return (await store.builds.create({ deploymentId: deployment.id, sourceDigest: 'c'.repeat(64) })).id;
  }

  const api = async (method: string, path: string): Promise<{ status: number; body: Record<string, unknown> }> => {
    const response = await fetch(`${maestro.apiUrl}${path}`, { method, headers: { authorization: `Bearer ${maestro.token}` } });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    dir = await tempDir('maestro-vulns-api-');
    osv = await copyOfSharedOsv(dir.path);
    maestro = await startTestMaestro({ advisories: osv });
    buildId = await newBuild('vulns-api');
    // What the build pipeline does once the SBOM is known.
    await maestro.plane.vulnerabilities.scanBuild(buildId, [
      component('npm', 'lodash', '4.17.20'),
      component('PyPI', 'Django', '4.2.2'),
      component('Go', 'golang.org/x/net', 'v0.6.0'),
      component('npm', 'my-lib', 'github:me/my-lib#1a2b3c'),
    ]);
  }, 60_000);
  afterAll(async () => {
    await stopTestMaestro(maestro);
    await dir?.remove();
  }, 30_000);

  it("GET /v1/builds/:id/vulnerabilities serves the build's scan", async () => {
    const { status, body } = await api('GET', `/v1/builds/${buildId}/vulnerabilities`);
    expect(status).toBe(200);
    const scan = body as unknown as VulnerabilityScanResult & { build: string; storedAt: string };
    expect(scan.build).toBe(buildId);
    expect(scan.status).toBe('complete');
    expect(scan.components).toBe(4);
    expect(scan.ids).toEqual([
      'GHSA-29mw-wpgm-hmr9', 'GHSA-2wrh-6pvc-2jm9', 'GHSA-35jh-r3h4-6jhm', 'GHSA-4v7x-pqxf-cx7m', 'GHSA-jh3w-4vvf-mjgr', 'GHSA-vm8q-m57g-pff3', 'GHSA-vvpx-j8f3-3w6h',
    ]);
    expect(scan.counts).toEqual({ critical: 0, high: 2, medium: 3, low: 2, unknown: 0 });
    expect(scan.unscanned).toEqual([{ package: component('npm', 'my-lib', 'github:me/my-lib#1a2b3c'), reason: expect.stringMatching(/is not a valid npm \(semver\) version/) }]);
    expect(scan.sources).toEqual([expect.objectContaining({ name: 'osv', status: 'ok', required: true, advisories: 67 })]);

    const openapi = await api('GET', '/v1/openapi.json');
    expect(Object.keys(openapi.body.paths as object)).toEqual(expect.arrayContaining(['/v1/builds/{id}/vulnerabilities', '/v1/advisories', '/v1/advisories/reload']));

    expect(await api('GET', '/v1/builds/bld_nope/vulnerabilities')).toMatchObject({ status: 404, body: { error: { code: 'not_found', message: expect.stringContaining('no build bld_nope') } } });
    const unscanned = await newBuild('vulns-unscanned');
    expect(await api('GET', `/v1/builds/${unscanned}/vulnerabilities`)).toMatchObject({ status: 404, body: { error: { message: expect.stringContaining('has no vulnerability scan yet') } } });
  });

  it('maestro vulns BUILD prints the findings, and --json the result', async () => {
    const human = await cli(['vulns', buildId], maestro.env);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`build ${buildId}`);
    expect(human.stdout).toContain('scan complete: 4 components, 7 findings (critical 0, high 2, medium 3, low 2, unknown 0)');
    expect(human.stdout).toMatch(/HIGH\s+GHSA-35jh-r3h4-6jhm\s+lodash@4\.17\.20\s+fixed in 4\.17\.21\s+CVE-2021-23337 {2}Command Injection in lodash/);
    expect(human.stdout).toMatch(/LOW\s+GHSA-vvpx-j8f3-3w6h\s+golang\.org\/x\/net@v0\.6\.0\s+fixed in v0\.7\.0/);
    expect(human.stdout).toContain('not scanned (1):');
    expect(human.stdout).toContain('osv: ok, 67 advisories');

    const json = await cli(['vulns', buildId, '--json'], maestro.env);
    expect(JSON.parse(json.stdout)).toMatchObject({ build: buildId, status: 'complete', counts: { high: 2 } });
    const missing = await cli(['vulns', 'bld_nope'], maestro.env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no build bld_nope');
  });

  it('POST /v1/advisories/reload reads edited files; the next scan of the same components is not served from the cache', async () => {
    const components = [component('npm', 'left-pad', '1.3.0')];
    const before = await maestro.plane.vulnerabilities.scan(components);
    expect(before.ids).toEqual([]);
    const { body: status } = await api('GET', '/v1/advisories');
    expect(status).toMatchObject({ advisories: { status: 'ok', advisories: 67, perEcosystem: { npm: 44, PyPI: 16, Go: 7 }, problems: [] } });

    // Replace an existing file in place: the folder's mtime stays, so only a reload notices.
    await writeFile(
      join(osv, 'npm', 'GHSA-9vvw-cc9w-f27h.json'),
      JSON.stringify({ id: 'GHSA-9vvw-cc9w-f27h', summary: 'now about left-pad', database_specific: { severity: 'HIGH' }, affected: [{ package: { ecosystem: 'npm', name: 'left-pad' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1.3.1' }] }] }] }),
    );
    const reloaded = await cli(['advisories', 'reload'], maestro.env);
    expect(reloaded.code).toBe(0);
    expect(reloaded.stdout).toMatch(/^67 advisories from .* \(npm 44, PyPI 16, Go 7\)\ndigest [0-9a-f]{64}\n$/);
    const after = await maestro.plane.vulnerabilities.scan(components);
    expect(after.advisoriesDigest).not.toBe(before.advisoriesDigest);
    expect(after.ids).toEqual(['GHSA-9vvw-cc9w-f27h']);
    expect(after.sources[0]!.cached).toBe(false);
  });
});

describe('without advisories configured', () => {
  let maestro: TestMaestro;
  beforeAll(async () => {
    maestro = await startTestMaestro();
  }, 60_000);
  afterAll(async () => stopTestMaestro(maestro), 30_000);

  it('scans are unavailable (never a pass) and a reload says how to configure them', async () => {
    const scan = await maestro.plane.vulnerabilities.scan([component('npm', 'lodash', '4.17.20')]);
    expect(scan).toMatchObject({ status: 'unavailable', reason: expect.stringContaining('--advisories PATH') });
    const reload = await cli(['advisories', 'reload'], maestro.env);
    expect(reload.code).toBe(1);
    expect(reload.stderr).toContain('no advisories are configured: start Maestro with --advisories PATH');
  });
});
