/** Supply-chain evidence of builds: each part's public face. */
export { VulnerabilityScanner, type VulnerabilityScannerOptions, type ScannedComponent, type VulnerabilityScanResult, type VulnerabilityFinding } from './vulns/index.js';
export { attest, verifyArtifact, verifyBundle, openSigningKey, SLSA_PROVENANCE_V1, CYCLONEDX_BOM, MAESTRO_BUILDER_ID, type AttestInput, type AttestResult, type ProvenanceFacts, type SigningKey, type Expectations, type VerificationResult, type VerificationCheck } from './provenance/index.js';
export { generateSbom, toSpdx, componentsOf, type SbomInput, type SbomResult, type SpdxDocument, type Component, type CycloneDxDocument } from './sbom/index.js';
