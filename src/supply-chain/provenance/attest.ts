import { createHash } from 'node:crypto';
import type { AttestationRecord, AttestationsRepository } from '../../store/index.js';
import { signStatement } from './sign-statement.js';
import type { SigningKey } from './signing-key.js';
import { provenanceStatement, sbomStatement, type ProvenanceFacts, type Statement } from './statement.js';

export interface AttestInput {
  /** The build's facts; signed as SLSA Provenance v1 about `provenance.artifact`. */
  provenance: ProvenanceFacts;
  /** The build's CycloneDX document (JSON); when given, signed too, about the same artifact. */
  sbom?: unknown;
}

export interface AttestResult {
  provenance: AttestationRecord;
  sbom?: AttestationRecord;
}

/**
 * Signs the build's provenance (and SBOM) with the server's key and stores each bundle under the
 * artifact's digest. A statement that cannot be made (bad facts) is refused before anything is signed.
 */
export async function attest(store: { attestations: AttestationsRepository }, key: SigningKey, input: AttestInput): Promise<AttestResult> {
  const statements: Statement[] = [provenanceStatement(input.provenance)];
  if (input.sbom !== undefined) statements.push(sbomStatement(input.provenance.artifact, input.sbom));
  const bundles = await Promise.all(statements.map((statement) => signStatement(key, statement)));
  const records: AttestationRecord[] = [];
  for (const [index, statement] of statements.entries()) {
    const bundle = bundles[index]!;
    records.push(
      await store.attestations.put({
        // Named after what was signed, so the same statement signed twice is recognisably the same attestation.
        id: `att_${createHash('sha256').update(bundle.dsseEnvelope!.payload).digest('hex').slice(0, 24)}`,
        artifactDigest: input.provenance.artifact.digest,
        buildId: input.provenance.buildId,
        predicateType: statement.predicateType,
        keyId: key.id,
        bundle,
      }),
    );
  }
  return { provenance: records[0]!, ...(records[1] ? { sbom: records[1] } : {}) };
}
