/**
 * Signed supply-chain evidence: the server's signing key, SLSA provenance and SBOM statements signed
 * as Sigstore bundles (DSSE, v0.3, no transparency log), and their verification.
 */
export {
  CYCLONEDX_BOM,
  IN_TOTO_PAYLOAD_TYPE,
  IN_TOTO_STATEMENT_V1,
  MAESTRO_BUILDER_ID,
  MAESTRO_BUILD_TYPE,
  SIGNING_ALGORITHM,
  SIGSTORE_BUNDLE_V03,
  SLSA_PROVENANCE_V1,
} from './constants.js';
export {
  openSigningKey,
  opensSigningKey,
  resealSigningKey,
  generateSigningKey,
  signingKeyFrom,
  type SigningKey,
  type OpenSigningKeyOptions,
} from './signing-key.js';
export { keyIdOf } from './key-id.js';
export {
  provenanceStatement,
  sbomStatement,
  type ProvenanceFacts,
  type ArtifactSubject,
  type Statement,
  type SlsaProvenance,
  type ResourceDescriptor,
  type DigestSet,
} from './statement.js';
export { signStatement } from './sign-statement.js';
export { attest, type AttestInput, type AttestResult } from './attest.js';
export { parseStatement, summarizeProvenance, type ParsedStatement, type ProvenanceSummary } from './parse-statement.js';
export { verifyBundle, type VerifyBundleInput, type Expectations, type VerificationCheck, type VerificationResult } from './verify-bundle.js';
export { verifyArtifact, describeType, type VerifyArtifactInput } from './verify-artifact.js';
export { sha256Of } from './digest.js';
