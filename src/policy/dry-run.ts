/**
 * Evaluating policies without deploying (`POST /v1/policies/dryrun`, `maestro policy test`). The input
 * may leave out what the dry run can fill in: the environment (from the one asked about) and the time's
 * hour and weekday (from its `now`, or the whole time from the clock).
 */
import { z } from 'zod';
import { MaestroError } from '../common/index.js';
import type { PolicySpec } from '../manifest/index.js';
import { compileExpression } from './cel.js';
import { effectivePolicies, type OrganisationPolicies } from './catalogue.js';
import { evaluatePolicies } from './evaluate.js';
import { policyInputSchema, timeOf, type PolicyInput } from './input.js';
import type { PolicyDecision, Waiver } from './types.js';

export const dryRunInputSchema = policyInputSchema.extend({
  environment: policyInputSchema.shape.environment.optional(),
  time: z
    .strictObject({
      now: policyInputSchema.shape.time.shape.now,
      hour: policyInputSchema.shape.time.shape.hour.optional(),
      weekday: policyInputSchema.shape.time.shape.weekday.optional(),
    })
    .optional(),
});

export type DryRunInput = z.infer<typeof dryRunInputSchema>;

/** The full input: the environment and the time filled in where left out, and checked where given. */
export function completeDryRunInput(raw: DryRunInput, environment: string, clock: Date): PolicyInput {
  const bad = (field: string, message: string) => new MaestroError('validation_error', message, { field });
  if (raw.environment && raw.environment.name !== environment) {
    throw bad('input.environment.name', `input.environment.name is ${JSON.stringify(raw.environment.name)} but the dry run is for ${JSON.stringify(environment)}; leave input.environment out or make them agree`);
  }
  let time = timeOf(clock);
  if (raw.time) {
    const at = new Date(raw.time.now);
    if (Number.isNaN(at.getTime())) throw bad('input.time.now', `input.time.now ${JSON.stringify(raw.time.now)} is not a time`);
    time = { ...timeOf(at), now: raw.time.now };
    for (const field of ['hour', 'weekday'] as const) {
      const given = raw.time[field];
      if (given !== undefined && given !== time[field]) {
        throw bad(`input.time.${field}`, `input.time.${field} is ${given} but input.time.now (${raw.time.now}) has ${time[field]} in UTC; give now alone and the rest follows`);
      }
    }
  }
  return {
    ...raw,
    environment: raw.environment ?? { name: environment, kind: environment === 'production' ? 'production' : 'other' },
    time,
  };
}

export interface PolicyCompileProblem {
  /** `policies[2].expression` */
  path: string;
  /** 0-based, in the expression. */
  offset: number;
  message: string;
}

/** Every expression of the given policies that does not compile. */
export function compileProblems(specs: readonly PolicySpec[]): PolicyCompileProblem[] {
  return specs.flatMap((spec, index) => {
    const compiled = compileExpression(spec.expression);
    return compiled.ok ? [] : [{ path: `policies[${index}].expression`, offset: compiled.error.offset, message: compiled.error.message }];
  });
}

export interface DryRunRequest {
  organisation: OrganisationPolicies;
  projectPolicies?: readonly PolicySpec[];
  input: PolicyInput;
  waivers?: readonly Waiver[];
  now: Date;
}

/** The decision a gate would make for this input, with nothing recorded. */
export function dryRun(request: DryRunRequest): PolicyDecision {
  const problems = compileProblems(request.projectPolicies ?? []);
  if (problems.length > 0) {
    throw new MaestroError(
      'validation_error',
      problems.map((p) => `${p.path} (at character ${p.offset + 1}): ${p.message}`).join('; '),
      { problems },
    );
  }
  return evaluatePolicies(effectivePolicies(request.organisation, request.projectPolicies), request.input, request.waivers ?? [], request.now);
}
