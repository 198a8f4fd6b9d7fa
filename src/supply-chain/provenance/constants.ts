/** The names the formats give things; verifiers (cosign, @sigstore/verify, policies) compare them byte for byte. */

export const IN_TOTO_STATEMENT_V1 = 'https://in-toto.io/Statement/v1';
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
export const CYCLONEDX_BOM = 'https://cyclonedx.org/bom';
export const SIGSTORE_BUNDLE_V03 = 'application/vnd.dev.sigstore.bundle.v0.3+json';

/** What a Maestro build is: the schema of its externalParameters and internalParameters. */
export const MAESTRO_BUILD_TYPE = 'https://maestro.dev/build/v1';
/** The builder unless the caller names another (e.g. one URL per installation); verification expects the same by default. */
export const MAESTRO_BUILDER_ID = 'https://maestro.dev/builder/v1';

/** ECDSA over P-256 with SHA-256: what `signing_keys.algorithm` says and cosign's default key type. */
export const SIGNING_ALGORITHM = 'ecdsa-p256-sha256';

/** The resolved dependency that names the uploaded source archive (the build's input, whatever its origin). */
export const SOURCE_ARCHIVE_NAME = 'source';
