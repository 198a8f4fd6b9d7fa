import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  generateSigningKey,
  parseStatement,
  provenanceStatement,
  sbomStatement,
  signStatement,
  summarizeProvenance,
  verifyBundle,
  type ProvenanceFacts,
} from '../../../src/supply-chain/provenance/index.js';
import { ARTIFACT_DIGEST, COMMIT, SOURCE_DIGEST, sampleFacts } from './fixtures.js';

describe('the SLSA provenance statement', () => {
  it('says what was built, from what, by whom, how and when, in SLSA Provenance v1 terms', () => {
    const facts = sampleFacts();
    expect(provenanceStatement(facts)).toEqual({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'hello-web.tar.gz', digest: { sha256: ARTIFACT_DIGEST } }],
      predicateType: 'https://slsa.dev/provenance/v1',
      predicate: {
        buildDefinition: {
          buildType: 'https://maestro.dev/build/v1',
          externalParameters: {
            project: 'hello',
            service: 'web',
            environment: 'production',
            repository: 'https://github.com/octo/hello',
            ref: 'refs/heads/main',
            commit: COMMIT,
            manifest: { path: 'maestro.yml', digest: { sha256: facts.manifestDigest } },
            source: { digest: { sha256: SOURCE_DIGEST } },
          },
          internalParameters: {
            sandbox: 'bubblewrap',
            steps: [{ name: 'install', command: 'npm ci' }, { name: 'build', command: 'npm run build' }, { name: 'package' }],
          },
          resolvedDependencies: [
            { name: 'source', digest: { sha256: SOURCE_DIGEST }, mediaType: 'application/gzip' },
            { uri: 'git+https://github.com/octo/hello@refs/heads/main', digest: { gitCommit: COMMIT } },
            { name: 'node', uri: 'pkg:generic/node@v20.19.0' },
            { name: 'npm', uri: 'pkg:generic/npm@10.8.2' },
          ],
        },
        runDetails: {
          builder: { id: 'https://maestro.dev/builder/v1', version: { maestro: '0.1.0' } },
          metadata: { invocationId: 'bld_k3q7x2m4ba9z', startedOn: '2025-01-02T03:04:05.000Z', finishedOn: '2025-01-02T03:05:06.000Z' },
        },
      },
    });
  });

  it('names only the source archive for a build from a folder (no git)', () => {
    const statement = provenanceStatement(sampleFacts({ source: { digest: SOURCE_DIGEST }, toolchains: {} }));
    expect(statement.predicate.buildDefinition.resolvedDependencies).toEqual([{ name: 'source', digest: { sha256: SOURCE_DIGEST }, mediaType: 'application/gzip' }]);
    expect(statement.predicate.buildDefinition.externalParameters).not.toHaveProperty('commit');
  });

  it('refuses facts that do not hold together, saying which field to fix', () => {
    const refuse = (overrides: Partial<ProvenanceFacts>) => {
      try {
        provenanceStatement(sampleFacts(overrides));
      } catch (error) {
        return (error as Error).message;
      }
      return 'accepted';
    };
    expect(refuse({ source: { digest: SOURCE_DIGEST, commit: 'abc123' } })).toBe('source.commit must be a full git commit id (40 or 64 lowercase hex), got "abc123"');
    expect(refuse({ manifestDigest: 'nope' })).toBe('manifestDigest must be a sha256 digest (64 lowercase hex), got "nope"');
    expect(refuse({ builderId: 'maestro' })).toBe('builderId must be a URI such as https://maestro.dev/builder/v1, got "maestro"');
    expect(refuse({ finishedOn: new Date('2025-01-01T00:00:00Z') })).toBe('finishedOn (2025-01-01T00:00:00.000Z) is before startedOn (2025-01-02T03:04:05.000Z)');
    expect(refuse({ buildId: ' ' })).toBe('buildId must be a non-empty string');
    expect(refuse({ startedOn: new Date('x') })).toBe('startedOn must be a valid date');
  });

  it('carries a CycloneDX document unchanged as the SBOM predicate', () => {
    const bom = { bomFormat: 'CycloneDX', specVersion: '1.6', serialNumber: 'urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79', version: 1 };
    expect(sbomStatement({ name: 'a.tar.gz', digest: ARTIFACT_DIGEST }, bom)).toEqual({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'a.tar.gz', digest: { sha256: ARTIFACT_DIGEST } }],
      predicateType: 'https://cyclonedx.org/bom',
      predicate: bom,
    });
  });
});

const hex = (length: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: length, maxLength: length });
const text = fc.string({ minLength: 1, maxLength: 30 }).filter((value) => value.trim() !== '');
const factsArbitrary: fc.Arbitrary<ProvenanceFacts> = fc
  .record({
    digest: hex(64),
    sourceDigest: hex(64),
    commit: fc.option(fc.oneof(hex(40), hex(64)), { nil: undefined }),
    buildId: text,
    service: text,
    builderHost: fc.domain(),
    steps: fc.array(fc.record({ name: text, command: fc.option(text, { nil: undefined }) }), { maxLength: 4 }),
    toolchains: fc.dictionary(fc.constantFrom('node', 'npm', 'go', 'python'), text),
    start: fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }),
    seconds: fc.nat(100_000),
  })
  .map((r) => ({
    ...sampleFacts(),
    artifact: { name: 'artifact.tar.gz', digest: r.digest },
    buildId: r.buildId,
    builderId: `https://${r.builderHost}/builder`,
    service: r.service,
    source: { digest: r.sourceDigest, ...(r.commit ? { commit: r.commit, repository: 'https://example.com/repo' } : {}) },
    steps: r.steps,
    toolchains: r.toolchains,
    startedOn: r.start,
    finishedOn: new Date(r.start.getTime() + r.seconds * 1000),
  }));

describe('reading statements back (property tests)', () => {
  it('never throws on any payload, only says what is wrong', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.jsonValue().map((value) => JSON.stringify(value)), fc.uint8Array()), (payload) => {
        const parsed = parseStatement(payload);
        expect(parsed.ok || parsed.problem.length > 0).toBe(true);
        summarizeProvenance(parsed.ok ? parsed.statement.predicate : payload);
      }),
    );
  });

  it('reads back from any statement it makes the subject, builder, build and source it was given', () => {
    fc.assert(
      fc.property(factsArbitrary, (facts) => {
        const parsed = parseStatement(JSON.stringify(provenanceStatement(facts)));
        expect(parsed.ok).toBe(true);
        if (!parsed.ok) return;
        expect(parsed.statement.subject).toEqual([{ name: facts.artifact.name, digest: { sha256: facts.artifact.digest } }]);
        const summary = summarizeProvenance(parsed.statement.predicate);
        expect(summary).toMatchObject({ builderId: facts.builderId, buildId: facts.buildId, sourceDigest: facts.source.digest });
        expect(summary.commits).toEqual(facts.source.commit ? [facts.source.commit] : []);
      }),
    );
  });

  it('refuses every single-byte change to a signed payload', async () => {
    const key = generateSigningKey();
    const bundle = await signStatement(key, provenanceStatement(sampleFacts()));
    const payload = Buffer.from(bundle.dsseEnvelope!.payload, 'base64');
    fc.assert(
      fc.property(fc.nat(payload.length - 1), fc.integer({ min: 1, max: 255 }), (index, flip) => {
        const changed = Buffer.from(payload);
        changed[index]! ^= flip;
        const forged = { ...bundle, dsseEnvelope: { ...bundle.dsseEnvelope!, payload: changed.toString('base64') } };
        const result = verifyBundle({ bundle: forged, artifactDigest: ARTIFACT_DIGEST, publicKeyPem: key.publicKeyPem });
        expect(result.ok).toBe(false);
        expect(result.checks.find((check) => check.name === 'signature')?.ok).toBe(false);
      }),
      { numRuns: 200 },
    );
  });
});
