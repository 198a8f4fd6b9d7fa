import type { BlobSource } from '../../build/index.js';
import type { AttestationsRepository, SigningKeysRepository } from '../../store/index.js';
import { CYCLONEDX_BOM, SLSA_PROVENANCE_V1 } from './constants.js';
import { sha256Of } from './digest.js';
import { verifyBundle, type Expectations, type VerificationCheck, type VerificationResult } from './verify-bundle.js';

export interface VerifyArtifactInput {
  store: { attestations: AttestationsRepository; signingKeys: SigningKeysRepository };
  /** The artifact the caller is about to use (a release's artifact digest): its attestation is looked up by this. */
  artifactDigest: string;
  /** Its bytes (a file path, bytes or a stream), hashed here: the statement must be about these bytes. */
  artifact: BlobSource;
  expect?: Expectations;
  /** A key to trust instead of the server's key the attestation names (PEM, SPKI). */
  publicKeyPem?: string;
}

/**
 * Checks an artifact against its stored attestation: the signature by the server's key (or the pinned
 * one), the statement about these very bytes, the expected predicate type, builder and source.
 */
export async function verifyArtifact(input: VerifyArtifactInput): Promise<VerificationResult> {
  const predicateType = input.expect?.predicateType ?? SLSA_PROVENANCE_V1;
  const attestation = await input.store.attestations.get(input.artifactDigest, predicateType);
  if (!attestation) {
    return failed({ name: 'attestation', ok: false, detail: `no ${describeType(predicateType)} attestation for sha256:${input.artifactDigest}` });
  }
  const found: VerificationCheck = {
    name: 'attestation',
    ok: true,
    detail: `${attestation.id}${attestation.buildId ? ` of build ${attestation.buildId}` : ''}, made ${attestation.createdAt.toISOString()}`,
  };
  let publicKeyPem = input.publicKeyPem;
  if (publicKeyPem === undefined) {
    const key = await input.store.signingKeys.get(attestation.keyId);
    if (!key) return failed(found, { name: 'key', ok: false, detail: `signature made by another key: ${attestation.keyId} is not one of this server's keys` });
    publicKeyPem = key.publicKeyPem;
  }
  const result = verifyBundle({ bundle: attestation.bundle, artifactDigest: await sha256Of(input.artifact), publicKeyPem, ...(input.expect ? { expect: input.expect } : {}) });
  return { ok: result.ok, checks: [found, ...result.checks] };
}

/** `provenance` or `SBOM` for the predicate types Maestro makes; the URI for any other. */
export function describeType(predicateType: string): string {
  if (predicateType === SLSA_PROVENANCE_V1) return 'provenance';
  if (predicateType === CYCLONEDX_BOM) return 'SBOM';
  return predicateType;
}

function failed(...checks: VerificationCheck[]): VerificationResult {
  return { ok: false, checks };
}
