import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../../src/store/index.js';
import {
  CYCLONEDX_BOM,
  SLSA_PROVENANCE_V1,
  attest,
  generateSigningKey,
  openSigningKey,
  parseStatement,
  verifyArtifact,
  type SigningKey,
} from '../../../src/supply-chain/provenance/index.js';
import { rejection } from '../../errors.js';
import { drivers, useStore } from '../../store/harness.js';
import { ARTIFACT_BYTES, ARTIFACT_DIGEST, COMMIT, SOURCE_DIGEST, sampleFacts, sha256 } from './fixtures.js';

const BOM = { bomFormat: 'CycloneDX', specVersion: '1.6', version: 1, components: [{ type: 'library', name: 'left-pad', version: '1.3.0' }] };

/** A real build row, so attestations can name it. */
async function createBuild(store: Store, name: string): Promise<string> {
  const project = await store.projects.ensure(name);
  const service = await store.services.ensure(project.id, 'web');
  const environment = await store.environments.ensure(project.id, 'production');
  const { deployment } = await store.deployments.createOrGetInProgress({
    projectId: project.id,
    serviceId: service.id,
    environmentId: environment.id,
    sourceDigest: SOURCE_DIGEST,
    config: {},
  });
  return (await store.builds.create({ deploymentId: deployment.id, sourceDigest: SOURCE_DIGEST })).id;
}

for (const driver of drivers) {
  describe.skipIf(!driver.enabled)(`attesting a build and verifying its artifact on ${driver.name}`, () => {
    let store: Store;
    let key: SigningKey;
    let dir: string;
    let artifactFile: string;
    let buildId: string;
    useStore(driver, (opened) => (store = opened));
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'maestro-attest-'));
      artifactFile = join(dir, 'hello-web.tar.gz');
      await writeFile(artifactFile, ARTIFACT_BYTES);
      key = await openSigningKey({ store, dataDir: dir, env: {} });
      buildId = await createBuild(store, 'attest');
      await attest(store, key, { provenance: sampleFacts({ buildId }), sbom: BOM });
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('stores the provenance and the SBOM, each as a bundle under the artifact digest, signed by the server key', async () => {
      const stored = await store.attestations.forArtifact(ARTIFACT_DIGEST);
      expect(stored.map((a) => [a.predicateType, a.buildId, a.keyId])).toEqual([
        [CYCLONEDX_BOM, buildId, key.id],
        [SLSA_PROVENANCE_V1, buildId, key.id],
      ]);
      const sbom = stored[0]!.bundle as { dsseEnvelope: { payload: string } };
      const statement = parseStatement(Buffer.from(sbom.dsseEnvelope.payload, 'base64'));
      expect(statement.ok && statement.statement.predicate).toEqual(BOM);
    });

    it('verifies the artifact file against its provenance, with the expected source', async () => {
      const result = await verifyArtifact({ store, artifactDigest: ARTIFACT_DIGEST, artifact: artifactFile, expect: { source: { commit: COMMIT } } });
      expect(result.ok).toBe(true);
      expect(result.checks.map((check) => check.name)).toEqual(['attestation', 'bundle', 'signature', 'statement', 'predicate type', 'subject', 'builder', 'source']);
      expect(result.checks[0]!.detail).toContain(`of build ${buildId}`);
      expect((await verifyArtifact({ store, artifactDigest: ARTIFACT_DIGEST, artifact: ARTIFACT_BYTES, expect: { predicateType: CYCLONEDX_BOM } })).ok).toBe(true);
    });

    it('fails when the bytes are not the attested ones, or the key is pinned to another', async () => {
      const swapped = await verifyArtifact({ store, artifactDigest: ARTIFACT_DIGEST, artifact: Buffer.from('something else') });
      expect(swapped.checks.filter((check) => !check.ok)).toEqual([
        { name: 'subject', ok: false, detail: `subject digest sha256:${ARTIFACT_DIGEST} does not match the artifact sha256:${sha256('something else')}` },
      ]);
      const pinned = await verifyArtifact({ store, artifactDigest: ARTIFACT_DIGEST, artifact: artifactFile, publicKeyPem: generateSigningKey().publicKeyPem });
      expect(pinned.checks.filter((check) => !check.ok).map((check) => check.detail)).toEqual([expect.stringMatching(/^signature made by another key/)]);
    });

    it('says there is no provenance for an artifact nobody attested', async () => {
      const digest = sha256('never built');
      expect(await verifyArtifact({ store, artifactDigest: digest, artifact: Buffer.from('never built') })).toEqual({
        ok: false,
        checks: [{ name: 'attestation', ok: false, detail: `no provenance attestation for sha256:${digest}` }],
      });
    });

    it('replaces the statement when the same bytes are built again, and signs nothing for facts that do not hold', async () => {
      const rebuild = await createBuild(store, 'attest-again');
      const again = await attest(store, key, { provenance: sampleFacts({ buildId: rebuild }) });
      expect((await store.attestations.get(ARTIFACT_DIGEST, SLSA_PROVENANCE_V1))).toMatchObject({ id: again.provenance.id, buildId: rebuild });
      expect(await store.attestations.forArtifact(ARTIFACT_DIGEST)).toHaveLength(2);

      const bad = await rejection(attest(store, key, { provenance: sampleFacts({ artifact: { name: 'x', digest: 'sha256:abc' } }) }));
      expect(bad.message).toBe('artifact.digest must be a sha256 digest (64 lowercase hex), got "sha256:abc"');
      const notBom = await rejection(attest(store, key, { provenance: sampleFacts({ buildId: rebuild }), sbom: { spdxVersion: 'SPDX-2.3' } }));
      expect(notBom.message).toContain('the SBOM must be a CycloneDX JSON document');
    });
  });
}
