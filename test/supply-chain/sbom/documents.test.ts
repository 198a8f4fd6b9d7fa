import { readFileSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { afterAll, describe, expect, it } from 'vitest';
import { canonicalCycloneDx, generateSbom, toSpdx, type SbomResult } from '../../../src/supply-chain/sbom/index.js';
import { SPDX_LICENSE_IDS } from '../../../src/supply-chain/sbom/spdx-license-ids.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const FIXTURES = fileURLToPath(new URL('./fixtures', import.meta.url));
const SCHEMAS = join(dirname(createRequire(import.meta.url).resolve('@cyclonedx/cyclonedx-library/package.json')), 'res', 'schema');
const NOW = new Date('2024-05-01T10:00:00.123Z');

const schema = (name: string): Record<string, unknown> => JSON.parse(readFileSync(join(SCHEMAS, name), 'utf8')) as Record<string, unknown>;
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
// The BOM schema refers to its companions by their file names, relative to its own $id.
ajv.addSchema({ ...schema('spdx.SNAPSHOT.schema.json'), $id: 'http://cyclonedx.org/schema/spdx.SNAPSHOT.schema.json' });
ajv.addSchema({ ...schema('jsf-0.82.SNAPSHOT.schema.json'), $id: 'http://cyclonedx.org/schema/jsf-0.82.SNAPSHOT.schema.json' });
const validateBom = ajv.compile(schema('bom-1.6.SNAPSHOT.schema.json'));

function expectValidCycloneDx(sbom: SbomResult): void {
  const valid = validateBom(sbom.document);
  expect(validateBom.errors?.slice(0, 5) ?? [], 'CycloneDX 1.6 schema errors').toEqual([]);
  expect(valid).toBe(true);
}

/** What SPDX 2.3 requires of a document and its packages, and that every relationship names an element that exists. */
function expectValidSpdx(sbom: SbomResult): void {
  const spdx = toSpdx(sbom);
  expect(spdx).toMatchObject({ spdxVersion: 'SPDX-2.3', dataLicense: 'CC0-1.0', SPDXID: 'SPDXRef-DOCUMENT', name: expect.any(String) });
  expect(spdx.documentNamespace).toMatch(/^https:\/\/[^\s#]+$/);
  expect(spdx.creationInfo.created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  expect(spdx.creationInfo.creators[0]).toMatch(/^Tool: maestro-\S+$/);
  const ids = new Set<string>(['SPDXRef-DOCUMENT']);
  for (const pkg of spdx.packages) {
    expect(pkg.SPDXID).toMatch(/^SPDXRef-[A-Za-z0-9.-]+$/);
    expect(ids.has(pkg.SPDXID), `${pkg.SPDXID} is unique`).toBe(false);
    ids.add(pkg.SPDXID);
    expect(pkg.name).not.toBe('');
    expect(pkg.downloadLocation).toMatch(/^(NOASSERTION|NONE|https?:\/\/\S+|git\+\S+)$/);
    expect(pkg.licenseConcluded).toBe('NOASSERTION');
    expect(pkg.licenseDeclared).toMatch(/^(NOASSERTION|NONE|[A-Za-z0-9.+()\s:-]+)$/);
    for (const checksum of pkg.checksums ?? []) expect(checksum).toMatchObject({ algorithm: expect.stringMatching(/^SHA(1|256|384|512)$/), checksumValue: expect.stringMatching(/^[0-9a-f]+$/) });
  }
  for (const relationship of spdx.relationships) {
    expect(ids.has(relationship.spdxElementId), relationship.spdxElementId).toBe(true);
    expect(ids.has(relationship.relatedSpdxElement), relationship.relatedSpdxElement).toBe(true);
  }
  const describes = spdx.relationships.filter((r) => r.relationshipType === 'DESCRIBES');
  expect(describes).toEqual([{ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: spdx.packages[0]!.SPDXID }]);
  // One DEPENDS_ON per edge of the CycloneDX graph, and a purl for every component.
  const edges = sbom.document.dependencies.reduce((sum, d) => sum + (d.dependsOn?.length ?? 0), 0);
  expect(spdx.relationships.filter((r) => r.relationshipType === 'DEPENDS_ON')).toHaveLength(edges);
  expect(spdx.packages.slice(1).map((p) => p.externalRefs?.[0]?.referenceLocator)).toEqual(sbom.components.map((c) => c.purl));
  for (const info of spdx.hasExtractedLicensingInfos ?? []) expect(spdx.packages.some((p) => p.licenseDeclared.includes(info.licenseId))).toBe(true);
}

const CASES: Array<[string, string, string]> = [
  ['npm', join(FIXTURES, 'npm-single'), ''],
  ['npm workspace member', join(FIXTURES, 'npm-workspace'), 'packages/a'],
  ['pnpm 6', join(FIXTURES, 'pnpm6-single'), ''],
  ['pnpm 9 workspace', join(FIXTURES, 'pnpm9-workspace'), 'packages/a'],
  ['yarn 1', join(FIXTURES, 'yarn1-single'), ''],
  ['yarn berry', join(FIXTURES, 'yarn-berry-workspace'), 'packages/a'],
  ['poetry', join(FIXTURES, 'poetry'), ''],
  ['uv', join(FIXTURES, 'uv-workspace'), ''],
  ['requirements', join(FIXTURES, 'requirements'), ''],
  ['go', join(FIXTURES, 'go-module'), ''],
  ['examples/node-express', join(ROOT, 'examples', 'node-express'), ''],
  ['examples/monorepo web', join(ROOT, 'examples', 'monorepo'), 'apps/web'],
  ["this repository's package-lock.json", ROOT, ''],
];

describe('documents', () => {
  for (const [label, root, servicePath] of CASES) {
    it(`${label}: valid CycloneDX 1.6 and SPDX 2.3`, async () => {
      const sbom = await generateSbom({ root, servicePath, service: { name: 'web', version: '1.0.0' }, now: NOW });
      expectValidCycloneDx(sbom);
      expectValidSpdx(sbom);
      expect(sbom.components.length).toBeGreaterThan(0);
    });
  }

  it('examples: node-express lists express and what it pulls in; the monorepo web service its workspace package', async () => {
    const express = await generateSbom({ root: join(ROOT, 'examples', 'node-express'), servicePath: '.', service: { name: 'web' }, now: NOW });
    expect(express.complete).toBe(true);
    expect(express.components.find((c) => c.name === 'express')).toMatchObject({ direct: true, scope: 'required', licenses: ['MIT'] });
    expect(express.components.filter((c) => c.direct).map((c) => c.name)).toEqual(['express']);
    const web = await generateSbom({ root: join(ROOT, 'examples', 'monorepo'), servicePath: 'apps/web', service: { name: 'web' }, now: NOW });
    expect(web.components).toEqual([
      { ecosystem: 'npm', name: '@acme/greeting', version: '1.0.0', purl: 'pkg:npm/%40acme/greeting@1.0.0', licenses: [], scope: 'required', direct: true, origin: 'workspace' },
    ]);
  });

  it('is deterministic: the same inputs and time give the same bytes; another time changes only the serial number and timestamp', async () => {
    const first = await generateSbom({ root: join(FIXTURES, 'pnpm9-single'), servicePath: '', service: { name: 'web' }, now: NOW });
    const again = await generateSbom({ root: join(FIXTURES, 'pnpm9-single'), servicePath: '', service: { name: 'web' }, now: new Date(NOW) });
    expect(JSON.stringify(again)).toBe(JSON.stringify(first));
    expect(first.document.metadata.timestamp).toBe('2024-05-01T10:00:00Z');
    expect(first.document.serialNumber).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const later = await generateSbom({ root: join(FIXTURES, 'pnpm9-single'), servicePath: '', service: { name: 'web' }, now: new Date('2024-05-02T00:00:00Z') });
    expect(later.document.serialNumber).not.toBe(first.document.serialNumber);
    expect(later.lockfileDigest).toBe(first.lockfileDigest);
    const strip = (sbom: SbomResult) => JSON.stringify({ ...sbom.document, serialNumber: '', metadata: { ...sbom.document.metadata, timestamp: '' } });
    expect(strip(later)).toBe(strip(first));
    expect(JSON.stringify(toSpdx(first))).toBe(JSON.stringify(toSpdx(again)));
  });

  it('the lockfile digest follows the bytes of the files read, not where the tree sits', async () => {
    const a = await copyOf('npm-single');
    const b = await copyOf('npm-single');
    const [first, second] = await Promise.all([a, b].map((root) => generateSbom({ root, servicePath: '', service: { name: 'web' }, now: NOW })));
    expect(second!.lockfileDigest).toBe(first!.lockfileDigest);
    await writeFile(join(b, 'package-lock.json'), `${await readFile(join(b, 'package-lock.json'), 'utf8')}\n`);
    const changed = await generateSbom({ root: b, servicePath: '', service: { name: 'web' }, now: NOW });
    expect(changed.lockfileDigest).not.toBe(first!.lockfileDigest);
    expect(changed.components).toEqual(first!.components);
  });

  it('canonical key order survives a trip through a store that reorders keys (jsonb)', async () => {
    const sbom = await generateSbom({ root: join(FIXTURES, 'poetry'), servicePath: '', service: { name: 'web' }, now: NOW });
    const shuffled = JSON.parse(JSON.stringify(sbom.document, (_key, value: unknown) => (value && typeof value === 'object' && !Array.isArray(value) ? Object.fromEntries(Object.entries(value).reverse()) : value)));
    expect(JSON.stringify(shuffled)).not.toBe(JSON.stringify(sbom.document));
    expect(JSON.stringify(canonicalCycloneDx(shuffled))).toBe(JSON.stringify(sbom.document));
  });

  it("the SPDX license ids are exactly the CycloneDX schema's list", () => {
    const enumIds = (schema('spdx.SNAPSHOT.schema.json').enum as string[]).slice().sort();
    expect([...SPDX_LICENSE_IDS]).toEqual(enumIds.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  });

  it('licenses: ids canonicalised, expressions kept, free text as a name (CycloneDX) or a LicenseRef with its text (SPDX)', async () => {
    const root = await copyOf('npm-single');
    const lock = JSON.parse(await readFile(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { license?: string }> };
    lock.packages['node_modules/debug']!.license = 'mit';
    lock.packages['node_modules/react']!.license = '(MIT OR Apache-2.0)';
    lock.packages['node_modules/ms']!.license = 'SEE LICENSE IN LICENSE.md';
    await writeFile(join(root, 'package-lock.json'), JSON.stringify(lock, null, 2));
    const sbom = await generateSbom({ root, servicePath: '', service: { name: 'web' }, now: NOW });
    expectValidCycloneDx(sbom);
    const cdx = (name: string) => sbom.document.components.find((c) => c.name === name)!.licenses;
    expect(cdx('debug')).toEqual([{ license: { id: 'MIT' } }]);
    expect(cdx('react')).toEqual([{ expression: 'MIT OR Apache-2.0' }]);
    expect(cdx('ms')).toEqual([{ license: { name: 'SEE LICENSE IN LICENSE.md' } }]);
    expect(sbom.components.find((c) => c.name === 'react')!.licenses).toEqual(['MIT OR Apache-2.0']);
    const spdx = toSpdx(sbom);
    const declared = (name: string) => spdx.packages.find((p) => p.name === name)!.licenseDeclared;
    expect(declared('debug')).toBe('MIT');
    expect(declared('react')).toBe('MIT OR Apache-2.0');
    expect(declared('ms')).toBe('LicenseRef-SEE-LICENSE-IN-LICENSE.md');
    expect(spdx.hasExtractedLicensingInfos).toEqual([{ licenseId: 'LicenseRef-SEE-LICENSE-IN-LICENSE.md', extractedText: 'SEE LICENSE IN LICENSE.md', name: 'SEE LICENSE IN LICENSE.md' }]);
    expectValidSpdx(sbom);
  });
});

const scratchDirs: string[] = [];
async function copyOf(fixture: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'maestro-sbom-doc-'));
  scratchDirs.push(dir);
  await cp(join(FIXTURES, fixture), dir, { recursive: true });
  return dir;
}
afterAll(async () => {
  for (const dir of scratchDirs) await rm(dir, { recursive: true, force: true });
});
