import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSbom, toSpdx, type SbomResult } from '../../../src/supply-chain/sbom/index.js';
import { cli, startTestMaestro, stopTestMaestro, type TestMaestro } from '../../e2e/harness.js';

const FIXTURES = fileURLToPath(new URL('./fixtures', import.meta.url));
const NOW = new Date('2024-05-01T10:00:00Z');

describe('SBOMs in the store, the API and the CLI', () => {
  let maestro: TestMaestro;
  let sbom: SbomResult;
  let buildId: string;
  let outDir: string;

  async function newBuild(project: string): Promise<string> {
    const { store } = maestro;
    const p = await store.projects.ensure(project);
    const service = await store.services.ensure(p.id, 'web');
    const environment = await store.environments.ensure(p.id, 'production');
    const { deployment } = await store.deployments.createOrGetInProgress({ projectId: p.id, serviceId: service.id, environmentId: environment.id, sourceDigest: 'd'.repeat(64), config: {} });
    return (await store.builds.create({ deploymentId: deployment.id, sourceDigest: 'd'.repeat(64) })).id;
  }

  const api = (path: string) => fetch(`${maestro.apiUrl}${path}`, { headers: { authorization: `Bearer ${maestro.token}` } });

  beforeAll(async () => {
    maestro = await startTestMaestro();
    outDir = await mkdtemp(join(tmpdir(), 'maestro-sbom-cli-'));
    sbom = await generateSbom({ root: join(FIXTURES, 'pnpm9-single'), servicePath: '', service: { name: 'web', version: '1.0.0' }, now: NOW });
    buildId = await newBuild('sbom-api');
    await maestro.store.sboms.save(buildId, sbom);
  }, 60_000);
  afterAll(async () => {
    await stopTestMaestro(maestro);
    if (outDir) await rm(outDir, { recursive: true, force: true });
  }, 30_000);

  it('the store gives back the same document bytes (jsonb reorders keys), the components, and finds it by artifact', async () => {
    const { store } = maestro;
    const stored = (await store.sboms.get(buildId))!;
    expect(JSON.stringify(stored.document)).toBe(JSON.stringify(sbom.document));
    expect(stored).toMatchObject({ buildId, components: sbom.components, complete: true, problems: [], lockfileDigest: sbom.lockfileDigest, createdAt: expect.any(Date) });
    expect(stored).not.toHaveProperty('artifactDigest');
    expect(await store.sboms.getByArtifact('a'.repeat(64))).toBeUndefined();

    expect(await store.sboms.setArtifact(buildId, 'a'.repeat(64))).toBe(true);
    expect(await store.sboms.setArtifact('bld_missing', 'a'.repeat(64))).toBe(false);
    // A later build of the same bytes (its SBOM copied, as a reused build does) is the newest for the artifact.
    const later = await newBuild('sbom-api-later');
    await store.sboms.save(later, { ...stored, problems: ['x: copied'], complete: false, artifactDigest: 'a'.repeat(64) });
    expect(await store.sboms.getByArtifact('a'.repeat(64))).toMatchObject({ buildId: later, complete: false, problems: ['x: copied'] });
    // Saving again replaces, and keeps the artifact it had.
    const replaced = await store.sboms.save(buildId, { ...sbom, complete: false, problems: ['y: again'] });
    expect(replaced).toMatchObject({ buildId, artifactDigest: 'a'.repeat(64), complete: false, problems: ['y: again'] });
    await store.sboms.save(buildId, sbom);
    await expect(store.sboms.save('bld_nope', sbom)).rejects.toThrow();
    await expect(store.sboms.save(buildId, { ...sbom, problems: [3 as unknown as string] })).rejects.toThrow(/problems must be a list of strings/);
  });

  it('GET /v1/builds/:id/sbom: CycloneDX by default, SPDX on request, 404s that say what is missing', async () => {
    const cyclonedx = await api(`/v1/builds/${buildId}/sbom`);
    expect(cyclonedx.status).toBe(200);
    // Fastify quotes the parameter (version="1.6"), which means the same.
    expect(cyclonedx.headers.get('content-type')).toMatch(/^application\/vnd\.cyclonedx\+json; version="?1\.6"?/);
    expect(await cyclonedx.text()).toBe(JSON.stringify(sbom.document));
    const spdx = await api(`/v1/builds/${buildId}/sbom?format=spdx`);
    expect(spdx.status).toBe(200);
    expect(spdx.headers.get('content-type')).toMatch(/^application\/spdx\+json/);
    expect(await spdx.json()).toEqual(JSON.parse(JSON.stringify(toSpdx(sbom))));

    const unknown = await api('/v1/builds/bld_nope/sbom');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: 'not_found', message: expect.stringContaining('no build bld_nope') } });
    const none = await newBuild('sbom-none');
    const missing = await api(`/v1/builds/${none}/sbom`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'not_found', message: expect.stringContaining(`build ${none} has no SBOM`) } });
    const bad = await api(`/v1/builds/${buildId}/sbom?format=xml`);
    expect(bad.status).toBe(400);
  });

  it('maestro sbom prints the document, or writes it with --output; a wrong --format is a usage error', async () => {
    const printed = await cli(['sbom', buildId], maestro.env);
    expect(printed.code, printed.stderr).toBe(0);
    expect(JSON.parse(printed.stdout)).toEqual(sbom.document);
    const file = join(outDir, 'web.spdx.json');
    const written = await cli(['sbom', buildId, '--format', 'spdx', '--output', file], maestro.env);
    expect(written.code, written.stderr).toBe(0);
    expect(written.stdout).toBe('');
    expect(written.stderr).toContain(`wrote the SPDX SBOM of ${buildId} to ${file}`);
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ spdxVersion: 'SPDX-2.3', name: 'web dependencies' });
    const wrong = await cli(['sbom', buildId, '--format', 'xml'], maestro.env);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('--format takes cyclonedx or spdx, got "xml"');
    const unknown = await cli(['sbom', 'bld_nope'], maestro.env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no build bld_nope');
  });
});
