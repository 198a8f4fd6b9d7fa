/**
 * Secrets: the master key, envelope encryption (data keys wrapped under it, values sealed under
 * them), the vault that sets, lists, reveals and resolves them, and the redactor that keeps their
 * values out of every log.
 */
export {
  MASTER_KEY_ENV,
  MASTER_KEY_BYTES,
  masterKeyId,
  masterKeyPath,
  parseMasterKey,
  previousMasterKeyPath,
  readMasterKey,
  type MasterKey,
} from './master-key.js';
export { openMasterKey, type OpenMasterKeyOptions } from './open-master-key.js';
export { seal, unseal } from './seal.js';
export { secretBinding, type SecretIdentity } from './envelope.js';
export {
  MAX_SECRET_VALUE_BYTES,
  MIN_SECRET_VALUE_CHARS,
  SECRET_NAME_PATTERN,
  SECRET_NAME_RULE,
  checkSecretName,
  checkSecretValue,
  isSecretName,
} from './names.js';
export { Redactor, RedactionStream, redactionForms, redactionMarker, type NamedValue } from './redact.js';
export {
  SecretVault,
  type ResolvedSecret,
  type RotationResult,
  type ScopeLevel,
  type SecretListing,
  type SecretTarget,
  type SecretVaultOptions,
} from './vault.js';
