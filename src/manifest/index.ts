/** maestro.yml: schema, parsing with line/column problems, and the resolved per-environment view. */
export { parseManifest } from './parse.js';
export { loadManifest, validateFile, MANIFEST_FILE, MAX_MANIFEST_BYTES, type LoadedManifest } from './load.js';
export { formatProblem, type Problem, type ManifestResult } from './problems.js';
export {
  resolveServiceConfig,
  resolveEnvironment,
  PREVIEW_ENVIRONMENT,
  type ResolveOptions,
  type ServiceConfig,
  type EnvironmentConfig,
} from './resolve.js';
export { servicesToDeploy, MANIFEST_PATH, type ServiceWorkspace } from './watch.js';
export {
  manifestSchema,
  MANIFEST_VERSION,
  RUNTIMES,
  DEFAULT_ENVIRONMENT,
  type Manifest,
  type ManifestInput,
  type ServiceSpec,
  type EnvironmentSpec,
  type ServiceOverride,
  type Runtime,
} from './schema.js';
export {
  STRATEGY_TYPES,
  METRICS,
  type Strategy,
  type StrategyType,
  type CanaryStep,
  type AnalysisCheck,
  type Metric,
} from './strategy-schema.js';
export { parsePercent, isDnsName, MAX_NAME_LENGTH } from './fields.js';
export { manifestJsonSchema, manifestJsonSchemaText, MANIFEST_SCHEMA_ID } from './json-schema.js';
export {
  policySchema,
  policiesSchema,
  policyFileSchema,
  POLICY_ACTIONS,
  type PolicyAction,
  type PolicySpec,
  type PolicySpecInput,
  type PolicyFile,
} from './policy-schema.js';
export { parsePolicyFile, type PolicyFileResult } from './policy-file.js';
export { policyProblems } from './policy-checks.js';
