/** Policies as code: CEL rules over a release's evidence, their sources, waivers, and the gate before a rollout. */
export { POLICY_SOURCES, type Policy, type PolicySource, type PolicyResult, type PolicyDecision, type Waiver } from './types.js';
export {
  buildPolicyInput,
  normaliseSeverity,
  policyInputSchema,
  timeOf,
  ENVIRONMENT_KINDS,
  SEVERITIES,
  type PolicyInput,
  type PolicyFacts,
  type ComponentFact,
  type FindingFact,
  type EnvironmentKind,
  type Severity,
} from './input.js';
export { compileExpression, runExpression, MAX_EXPRESSION_LENGTH, type Compiled, type CompiledExpression, type CompileError, type EvaluationResult } from './cel.js';
export { evaluatePolicies, isInForce } from './evaluate.js';
export { appliesTo } from './environments.js';
export { DEFAULT_POLICIES } from './defaults.js';
export {
  DEFAULT_ORGANISATION_POLICIES,
  combineOrganisationPolicies,
  effectivePolicies,
  loadOrganisationPolicies,
  policyFromSpec,
  type OrganisationPolicies,
} from './catalogue.js';
export { gatePolicies, type GateInput, type GateResult } from './gate.js';
export { completeDryRunInput, compileProblems, dryRun, dryRunInputSchema, type DryRunInput, type DryRunRequest, type PolicyCompileProblem } from './dry-run.js';
export { describeDenial, denials, formatDecision, verdictOf } from './format.js';
export { planWaiver, waiverNote, ARTIFACT_WAIVER_LIFETIME_MS, MAX_WAIVER_MS, type WaiverRequest, type PlannedWaiver } from './waiver-request.js';
export { readDryRunInput, readPolicyTestFile, type PolicyTestFile } from './local-files.js';
