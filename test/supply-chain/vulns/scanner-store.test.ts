import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VulnerabilityScanResultSchema, VulnerabilityScanner } from '../../../src/supply-chain/vulns/index.js';
import type { Store } from '../../../src/store/index.js';
import { drivers, useStore } from '../../store/harness.js';
import { component, copyOfSharedOsv, tempDir } from './fixtures.js';

for (const driver of drivers) {
  describe.skipIf(!driver.enabled)(`vulnerability scans kept and cached on ${driver.name}`, () => {
    let store: Store;
    let dir: { path: string; remove(): Promise<void> };
    let osv: string;
    let counter = 0;

    async function newBuild(): Promise<string> {
      counter += 1;
      const project = await store.projects.ensure(`vulns-${counter}`);
      const service = await store.services.ensure(project.id, 'web');
      const environment = await store.environments.ensure(project.id, 'production');
      const { deployment } = await store.deployments.createOrGetInProgress({
        projectId: project.id,
        serviceId: service.id,
        environmentId: environment.id,
        sourceDigest: 'a'.repeat(64),
        config: {},
      });
      return (await store.builds.create({ deploymentId: deployment.id, sourceDigest: 'a'.repeat(64) })).id;
    }

    useStore(driver, (opened) => (store = opened));
    beforeAll(async () => {
      dir = await tempDir('maestro-vulns-store-');
      osv = await copyOfSharedOsv(dir.path);
    });
    afterAll(async () => dir?.remove());

    it("keeps each build's scan, reads it back as the API serves it, and a second scan replaces it", async () => {
      const scanner = new VulnerabilityScanner({ advisories: osv, store });
      const buildId = await newBuild();
      const result = await scanner.scanBuild(buildId, [component('npm', 'lodash', '4.17.20'), component('PyPI', 'jinja2', '2.11.2')]);
      const stored = await store.vulnerabilityScans.get(buildId);
      expect(stored).toMatchObject({ buildId, status: 'complete' });
      expect(VulnerabilityScanResultSchema.parse(stored!.result)).toEqual(result);

      await scanner.scanBuild(buildId, [component('npm', 'lodash', '4.17.21')]);
      expect(await store.vulnerabilityScans.get(buildId)).toMatchObject({ result: { ids: [], components: 1 } });
      await expect(scanner.scanBuild('bld_missing', [])).rejects.toThrow(/build bld_missing does not exist/);
    });

    it('the same components and advisories are answered from the cache, in any order and with duplicates', async () => {
      const components = [component('npm', 'lodash', '4.17.11'), component('Go', 'golang.org/x/net', 'v0.6.0')];
      const first = await new VulnerabilityScanner({ advisories: osv, store }).scan(components);
      // A new scanner (a restarted Maestro) finds the answer in the database.
      const second = await new VulnerabilityScanner({ advisories: osv, store }).scan([...components].reverse().concat(components));
      expect(first.sources[0]!.cached).toBe(false);
      expect(second.sources[0]!.cached).toBe(true);
      expect(second.componentsDigest).toBe(first.componentsDigest);
      expect({ ...second, scannedAt: '', sources: [] }).toEqual({ ...first, scannedAt: '', sources: [] });
    });

    it('new advisories change the digest, so the cache cannot serve the old answer', async () => {
      const scanner = new VulnerabilityScanner({ advisories: osv, store });
      const components = [component('npm', 'left-pad', '1.3.0')];
      const before = await scanner.scan(components);
      expect(before.ids).toEqual([]);
      await writeFile(
        join(osv, 'npm', 'GHSA-2222-3333-4444.json'),
        JSON.stringify({
          id: 'GHSA-2222-3333-4444',
          aliases: ['CVE-2099-1234'],
          summary: 'left-pad is wrong',
          database_specific: { severity: 'CRITICAL' },
          affected: [{ package: { ecosystem: 'npm', name: 'left-pad' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1.3.1' }] }] }],
        }),
      );
      const after = await scanner.scan(components);
      expect(after.advisoriesDigest).not.toBe(before.advisoriesDigest);
      expect(after.sources[0]!.cached).toBe(false);
      expect(after.ids).toEqual(['GHSA-2222-3333-4444']);
      expect(after.counts.critical).toBe(1);
    });

    it('an unavailable scan is stored as such and never cached', async () => {
      const scanner = new VulnerabilityScanner({ advisories: join(dir.path, 'missing'), store });
      const buildId = await newBuild();
      const result = await scanner.scanBuild(buildId, [component('npm', 'lodash', '4.17.20')]);
      expect(result.status).toBe('unavailable');
      expect(await store.vulnerabilityScans.get(buildId)).toMatchObject({ status: 'unavailable', result: { status: 'unavailable', findings: [] } });
      const none = new VulnerabilityScanner({ store });
      expect((await none.scan([component('npm', 'lodash', '4.17.20')])).reason).toMatch(/no advisory source is configured: start Maestro with --advisories PATH/);
    });

    it('cached answers can be refused by age and pruned', async () => {
      await store.vulnerabilityScans.cache('age-test', { status: 'ok' });
      expect(await store.vulnerabilityScans.cached('age-test')).toEqual({ status: 'ok' });
      expect(await store.vulnerabilityScans.cached('age-test', 60_000)).toEqual({ status: 'ok' });
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await store.vulnerabilityScans.cached('age-test', 5)).toBeUndefined();
      expect(await store.vulnerabilityScans.pruneCache(new Date(Date.now() + 60_000))).toBeGreaterThanOrEqual(1);
      expect(await store.vulnerabilityScans.cached('age-test')).toBeUndefined();
    });
  });
}
