import { Ajv } from 'ajv';
import { assertBundleLatest, bundleFromJSON } from '@sigstore/bundle';
import { describe, expect, it } from 'vitest';
import {
  CYCLONEDX_BOM,
  generateSigningKey,
  provenanceStatement,
  sbomStatement,
  signStatement,
  verifyBundle,
  type VerificationResult,
} from '../../../src/supply-chain/provenance/index.js';
import { ARTIFACT_BYTES, ARTIFACT_DIGEST, COMMIT, SOURCE_DIGEST, sampleFacts, sha256 } from './fixtures.js';
import { BUNDLE_V03_SCHEMA } from './bundle-schema.js';

const key = generateSigningKey();
const failed = (result: VerificationResult) => result.checks.filter((check) => !check.ok);
const payloadOf = (bundle: { dsseEnvelope?: { payload: string } }) => JSON.parse(Buffer.from(bundle.dsseEnvelope!.payload, 'base64').toString('utf8'));

describe('signing provenance as a Sigstore bundle and verifying it', () => {
  it('round-trips: the server key verifies the bundle, the subject is the artifact, builder and source as built', async () => {
    const bundle = await signStatement(key, provenanceStatement(sampleFacts()));
    const result = verifyBundle({
      bundle,
      artifactDigest: sha256(ARTIFACT_BYTES),
      publicKeyPem: key.publicKeyPem,
      expect: { source: { commit: COMMIT, digest: SOURCE_DIGEST } },
    });
    expect(result).toEqual({
      ok: true,
      checks: [
        { name: 'bundle', ok: true, detail: 'Sigstore bundle v0.3 with a DSSE envelope' },
        { name: 'signature', ok: true, detail: `signed by key ${key.id}` },
        { name: 'statement', ok: true, detail: 'in-toto Statement v1' },
        { name: 'predicate type', ok: true, detail: 'https://slsa.dev/provenance/v1' },
        { name: 'subject', ok: true, detail: `sha256:${ARTIFACT_DIGEST} matches the artifact` },
        { name: 'builder', ok: true, detail: 'https://maestro.dev/builder/v1' },
        { name: 'source', ok: true, detail: `commit ${COMMIT}, source sha256:${SOURCE_DIGEST}` },
      ],
    });
  });

  it('makes a v0.3 bundle: the schema, the media type, the key hint, an in-toto DSSE payload, no log entries', async () => {
    const bundle = await signStatement(key, provenanceStatement(sampleFacts()));
    const validate = new Ajv({ allErrors: true, strict: false }).compile(BUNDLE_V03_SCHEMA);
    expect(validate(bundle), JSON.stringify(validate.errors)).toBe(true);
    expect(bundle.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
    expect(bundle.verificationMaterial.publicKey).toEqual({ hint: key.id });
    expect(bundle.verificationMaterial.tlogEntries ?? []).toEqual([]);
    expect(bundle.dsseEnvelope).toMatchObject({ payloadType: 'application/vnd.in-toto+json', signatures: [{ keyid: key.id }] });
    // @sigstore/bundle's own rules for the latest bundle version (what cosign's format shares) hold too.
    expect(() => assertBundleLatest(bundleFromJSON(bundle))).not.toThrow();
  });

  it('says the artifact is not the one the statement is about when its bytes changed', async () => {
    const bundle = await signStatement(key, provenanceStatement(sampleFacts()));
    const tampered = sha256(Buffer.concat([ARTIFACT_BYTES, Buffer.from('x')]));
    const result = verifyBundle({ bundle, artifactDigest: tampered, publicKeyPem: key.publicKeyPem });
    expect(result.ok).toBe(false);
    expect(failed(result)).toEqual([
      { name: 'subject', ok: false, detail: `subject digest sha256:${ARTIFACT_DIGEST} does not match the artifact sha256:${tampered}` },
    ]);
  });

  it('refuses an envelope whose payload was changed after signing, even to name the right artifact', async () => {
    const other = sha256('another artifact');
    const bundle = await signStatement(key, provenanceStatement(sampleFacts({ artifact: { name: 'x.tar.gz', digest: other } })));
    const statement = payloadOf(bundle);
    statement.subject[0].digest.sha256 = ARTIFACT_DIGEST;
    const forged = { ...bundle, dsseEnvelope: { ...bundle.dsseEnvelope!, payload: Buffer.from(JSON.stringify(statement)).toString('base64') } };
    const result = verifyBundle({ bundle: forged, artifactDigest: ARTIFACT_DIGEST, publicKeyPem: key.publicKeyPem });
    expect(result.ok).toBe(false);
    expect(failed(result)).toEqual([
      { name: 'signature', ok: false, detail: expect.stringContaining('the signature does not match the envelope: it was changed after it was signed') },
    ]);
  });

  it('refuses a signature by another key, whichever key the bundle claims', async () => {
    const stranger = generateSigningKey();
    const bundle = await signStatement(stranger, provenanceStatement(sampleFacts()));
    const result = verifyBundle({ bundle, artifactDigest: ARTIFACT_DIGEST, publicKeyPem: key.publicKeyPem });
    expect(failed(result)).toEqual([
      { name: 'signature', ok: false, detail: `signature made by another key: the bundle names key ${stranger.id}, the trusted key is ${key.id}` },
    ]);
    // A hint naming the trusted key does not make the stranger's signature the trusted key's.
    const lying = { ...bundle, verificationMaterial: { ...bundle.verificationMaterial, publicKey: { hint: key.id } } };
    const relabelled = verifyBundle({ bundle: lying, artifactDigest: ARTIFACT_DIGEST, publicKeyPem: key.publicKeyPem });
    expect(relabelled.ok).toBe(false);
    expect(failed(relabelled).map((check) => check.name)).toEqual(['signature']);
  });

  it('checks the predicate type, the builder and the source against what is expected', async () => {
    const bundle = await signStatement(key, provenanceStatement(sampleFacts({ builderId: 'https://ci.example.com/runner' })));
    const otherCommit = 'a'.repeat(40);
    const result = verifyBundle({ bundle, artifactDigest: ARTIFACT_DIGEST, publicKeyPem: key.publicKeyPem, expect: { source: { commit: otherCommit } } });
    expect(failed(result)).toEqual([
      { name: 'builder', ok: false, detail: 'built by https://ci.example.com/runner, expected https://maestro.dev/builder/v1' },
      { name: 'source', ok: false, detail: `built from commit ${COMMIT}, source sha256:${SOURCE_DIGEST}; expected commit ${otherCommit}` },
    ]);
    const sbom = await signStatement(key, sbomStatement({ name: 'hello-web.tar.gz', digest: ARTIFACT_DIGEST }, { bomFormat: 'CycloneDX', specVersion: '1.6' }));
    const asProvenance = verifyBundle({ bundle: sbom, artifactDigest: ARTIFACT_DIGEST, publicKeyPem: key.publicKeyPem });
    expect(failed(asProvenance)).toEqual([
      { name: 'predicate type', ok: false, detail: `predicate type ${CYCLONEDX_BOM} is not the expected https://slsa.dev/provenance/v1` },
    ]);
    expect(verifyBundle({ bundle: sbom, artifactDigest: ARTIFACT_DIGEST, publicKeyPem: key.publicKeyPem, expect: { predicateType: CYCLONEDX_BOM } }).ok).toBe(true);
  });

  it('says what is wrong with something that is not a bundle, or a key that is not a key', async () => {
    expect(verifyBundle({ bundle: { hello: 'world' }, artifactDigest: ARTIFACT_DIGEST, publicKeyPem: key.publicKeyPem }).checks).toEqual([
      { name: 'bundle', ok: false, detail: expect.stringContaining('not a Sigstore bundle') },
    ]);
    const bundle = await signStatement(key, provenanceStatement(sampleFacts()));
    expect(verifyBundle({ bundle, artifactDigest: ARTIFACT_DIGEST, publicKeyPem: 'not a key' }).checks.at(-1)).toEqual({
      name: 'key',
      ok: false,
      detail: expect.stringContaining('the trusted key is not a PEM public key'),
    });
  });
});
