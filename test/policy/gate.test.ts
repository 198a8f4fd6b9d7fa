import { describe, expect, it } from 'vitest';
import { DEFAULT_ORGANISATION_POLICIES, gatePolicies, loadOrganisationPolicies } from '../../src/policy/index.js';
import type { Store } from '../../src/store/index.js';
import { rejection } from '../errors.js';
import { drivers, useStore } from '../store/harness.js';
import { DIGEST, OTHER_DIGEST, input } from './facts.js';

const HOUR = 3_600_000;
const critical = () => input({ vulnerabilities: { status: 'complete', findings: [{ id: 'GHSA-jf85-cpcp-j695', severity: 'CRITICAL' }] } });

for (const driver of drivers) {
  describe.skipIf(!driver.enabled)(`policy waivers and evaluations in the store (${driver.name})`, () => {
    let store: Store;
    useStore(driver, (opened) => (store = opened));

    async function deploymentOf(project: string) {
      const p = await store.projects.ensure(project);
      const service = await store.services.ensure(p.id, 'web');
      const environment = await store.environments.ensure(p.id, 'production');
      const { deployment } = await store.deployments.createOrGetInProgress({ projectId: p.id, serviceId: service.id, environmentId: environment.id, sourceDigest: DIGEST, config: {} });
      return { project: p, deployment };
    }

    it('keeps waivers: in force ones by default, lapsed ones on request, revoked once', async () => {
      const project = await store.projects.ensure('waivers');
      const now = new Date();
      const base = { projectId: project.id, policy: 'no-critical-vulnerabilities', waivedBy: 'grace', reason: 'not reachable' };
      const forArtifact = await store.policyWaivers.create({ ...base, artifactDigest: DIGEST, expiresAt: new Date(now.getTime() + HOUR) });
      const expired = await store.policyWaivers.create({ ...base, expiresAt: new Date(now.getTime() - HOUR) });
      const inStaging = await store.policyWaivers.create({ ...base, environment: 'staging', expiresAt: new Date(now.getTime() + HOUR) });
      expect(forArtifact).toMatchObject({ id: expect.stringMatching(/^wvr_[a-z2-7]{12}$/), artifactDigest: DIGEST, waivedBy: 'grace' });
      expect(forArtifact.revokedAt).toBeUndefined();

      expect((await store.policyWaivers.list(project.id)).map((w) => w.id)).toEqual([inStaging.id, forArtifact.id]);
      expect((await store.policyWaivers.list(project.id, { all: true })).map((w) => w.id)).toEqual([inStaging.id, expired.id, forArtifact.id]);

      // What could bear on a release of DIGEST to production: not the staging one, the expired one too.
      expect((await store.policyWaivers.forRelease(project.id, { artifactDigest: DIGEST, environment: 'production' })).map((w) => w.id)).toEqual([expired.id, forArtifact.id]);
      expect((await store.policyWaivers.forRelease(project.id, { artifactDigest: OTHER_DIGEST, environment: 'staging' })).map((w) => w.id)).toEqual([inStaging.id, expired.id]);

      const revoked = await store.policyWaivers.revoke(project.id, forArtifact.id);
      expect(revoked.revokedAt).toBeInstanceOf(Date);
      const again = await store.policyWaivers.revoke(project.id, forArtifact.id, new Date(now.getTime() + HOUR));
      expect(again.revokedAt).toEqual(revoked.revokedAt);
      expect((await store.policyWaivers.list(project.id)).map((w) => w.id)).toEqual([inStaging.id]);

      const other = await store.projects.ensure('waivers-other');
      expect((await rejection(store.policyWaivers.revoke(other.id, inStaging.id))).code).toBe('not_found');
      expect((await rejection(store.policyWaivers.create({ ...base, reason: '', expiresAt: now }))).code).toBe('validation_error');
    });

    it('gatePolicies records the decision against the deployment, with the input it read', async () => {
      const { deployment } = await deploymentOf('gated');
      const result = await gatePolicies({ store, project: 'gated', environment: 'production', input: critical(), organisation: DEFAULT_ORGANISATION_POLICIES, deploymentId: deployment.id });
      expect(result.outcome).toBe('deny');
      expect(result.reason).toBe(
        'policy no-critical-vulnerabilities (default) denies: dependencies have critical vulnerabilities: upgrade them (see the scan), or waive this policy for this artifact with a reason',
      );
      const [recorded] = await store.policyEvaluations.listForDeployment(deployment.id);
      expect(recorded).toMatchObject({ id: result.evaluationId, outcome: 'deny', environment: 'production', input: critical(), results: result.results });
    });

    it("gatePolicies counts the project's waivers and the maestro.yml's policies", async () => {
      const { project, deployment } = await deploymentOf('gated-waived');
      const organisation = await loadOrganisationPolicies(undefined);
      const now = new Date();
      await store.policyWaivers.create({ projectId: project.id, policy: 'no-critical-vulnerabilities', artifactDigest: DIGEST, waivedBy: 'grace', reason: 'not reachable', expiresAt: new Date(now.getTime() + HOUR) });
      const projectPolicies = [{ name: 'no-lodash', action: 'deny' as const, expression: '!input.sbom.components.exists(c, c.name == "lodash")', message: 'use the standard library' }];

      const allowed = await gatePolicies({ store, project: 'gated-waived', environment: 'production', input: critical(), organisation, projectPolicies, deploymentId: deployment.id, now });
      expect(allowed.outcome).toBe('allow');
      expect(allowed.reason).toBeUndefined();
      expect(allowed.results.find((r) => r.policy === 'no-critical-vulnerabilities')?.waived).toMatchObject({ by: 'grace', reason: 'not reachable' });
      expect(allowed.results.find((r) => r.policy === 'no-lodash')).toMatchObject({ source: 'project', passed: true });

      // An hour and a half later the waiver has expired, and the result says so.
      const later = await gatePolicies({ store, project: 'gated-waived', environment: 'production', input: critical(), organisation, deploymentId: deployment.id, now: new Date(now.getTime() + 1.5 * HOUR) });
      expect(later.outcome).toBe('deny');
      expect(later.results.find((r) => r.policy === 'no-critical-vulnerabilities')?.message).toMatch(/\(the waiver by grace expired at /);
      expect((await store.policyEvaluations.listForDeployment(deployment.id)).map((e) => e.outcome)).toEqual(['allow', 'deny']);
    });

    it('gatePolicies refuses an unknown project, and an input for another environment', async () => {
      expect((await rejection(gatePolicies({ store, project: 'nope', environment: 'production', input: input(), organisation: DEFAULT_ORGANISATION_POLICIES }))).code).toBe('not_found');
      await store.projects.ensure('gated-env');
      expect((await rejection(gatePolicies({ store, project: 'gated-env', environment: 'staging', input: input(), organisation: DEFAULT_ORGANISATION_POLICIES }))).message).toMatch(/for environment production, not staging/);
    });
  });
}
