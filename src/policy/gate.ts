/** The policy gate before a rollout: the one place policies meet the store (waivers in, the decision recorded). */
import { MaestroError } from '../common/index.js';
import type { PolicySpec } from '../manifest/index.js';
import type { Store } from '../store/index.js';
import { effectivePolicies, type OrganisationPolicies } from './catalogue.js';
import { evaluatePolicies } from './evaluate.js';
import { describeDenial } from './format.js';
import type { PolicyInput } from './input.js';
import type { PolicyDecision } from './types.js';

export interface GateInput {
  store: Store;
  /** The project's name. */
  project: string;
  /** The environment being deployed to; must be the input's. */
  environment: string;
  input: PolicyInput;
  /** The organisation's policies and the defaults (as `maestro up` loaded them). */
  organisation: OrganisationPolicies;
  /** The `policies:` of the maestro.yml being deployed. */
  projectPolicies?: readonly PolicySpec[];
  /** The deployment the evaluation is recorded against. */
  deploymentId?: string;
  /** When waivers are judged; now by default. */
  now?: Date;
}

export interface GateResult extends PolicyDecision {
  /** The policy_evaluations row this decision was recorded as. */
  evaluationId: string;
  /** When denied, why, in one line a deployment can fail with. */
  reason?: string;
}

/**
 * Evaluates every policy that applies to a release (defaults, organisation, project) with the project's
 * waivers, records the decision in policy_evaluations, and returns it. Throws only when the project does
 * not exist or the store fails; a policy that cannot be evaluated is a deny in the result, not an error.
 */
export async function gatePolicies(gate: GateInput): Promise<GateResult> {
  if (gate.input.environment.name !== gate.environment) {
    throw new MaestroError('internal', `the policy input is for environment ${gate.input.environment.name}, not ${gate.environment}`);
  }
  const project = await gate.store.projects.get(gate.project);
  if (!project) throw new MaestroError('not_found', `no project named ${JSON.stringify(gate.project)}`, { project: gate.project });
  const now = gate.now ?? new Date();
  const waivers = await gate.store.policyWaivers.forRelease(project.id, { artifactDigest: gate.input.artifact.digest, environment: gate.environment });
  const decision = evaluatePolicies(effectivePolicies(gate.organisation, gate.projectPolicies), gate.input, waivers, now);
  const record = await gate.store.policyEvaluations.record({
    ...(gate.deploymentId ? { deploymentId: gate.deploymentId } : {}),
    projectId: project.id,
    environment: gate.environment,
    outcome: decision.outcome,
    results: decision.results,
    input: gate.input,
  });
  return { ...decision, evaluationId: record.id, ...(decision.outcome === 'deny' ? { reason: describeDenial(decision) } : {}) };
}
