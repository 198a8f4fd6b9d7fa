/**
 * Policies as written in YAML: the `policies:` section of maestro.yml and the organisation's policy
 * files. The expressions' CEL is checked by policy-checks.ts (it needs positions inside the text).
 */
import { z } from 'zod';
import { describeValue } from './suggest.js';
import { expecting, oneOf, text } from './fields.js';

export const POLICY_ACTIONS = ['deny', 'warn'] as const;
export type PolicyAction = (typeof POLICY_ACTIONS)[number];

const POLICY_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
// An environment name, or a glob of them: `production`, `pr-*`, `staging-?`.
const ENVIRONMENT_PATTERN = /^[a-z0-9*?]([a-z0-9*?-]{0,61}[a-z0-9*?])?$/;

function policyName() {
  const rule = 'use 1 to 63 lowercase letters, digits and -, like no-critical-vulnerabilities';
  const error = (issue: { input?: unknown }) =>
    issue.input === undefined ? `is required: a policy name (${rule})` : `${describeValue(issue.input)} is not a valid policy name; ${rule}`;
  return z.string({ error }).regex(POLICY_NAME, { error });
}

function environmentPattern() {
  const shape = 'an environment name or a pattern of them, like production or pr-*';
  const error = expecting(shape);
  return z.string({ error }).regex(ENVIRONMENT_PATTERN, { error });
}

export const policySchema = z
  .strictObject({
    name: policyName().describe('What results, waivers and `maestro policy waive` call the policy; unique among the policies of one file.'),
    action: oneOf(POLICY_ACTIONS)
      .default('deny')
      .describe('deny (default): a release that fails it does not deploy; warn: it deploys and the result says why it should not have.'),
    environments: z
      .array(environmentPattern(), { error: expecting('a list of environment names or patterns, like [production, pr-*]') })
      .min(1, { error: 'lists no environment; leave environments out for every environment' })
      .optional()
      .describe('Where the policy applies: environment names or globs like pr-*. Default: every environment.'),
    expression: text('a CEL expression over input that must be true, like input.artifact.signed').describe(
      'A CEL expression over `input` (the build, SBOM, vulnerabilities, artifact, environment, actor and time) that is true when the release may go. An error in it denies.',
    ),
    message: text('what to tell people when the expression is false').describe('Shown when the expression is false: what is wrong and how to fix it.'),
  })
  .describe('A rule every release must pass before it rolls out.');

export const policiesSchema = z
  .array(policySchema, { error: expecting('a list of policies, each with name, expression and message') })
  .describe(
    "The project's own policies, checked before each rollout beside the organisation's (which they cannot replace or remove: a policy of the same name runs in addition).",
  );

/** An organisation policy file (a folder of them is given to `maestro up --policies`). */
export const policyFileSchema = z
  .strictObject(
    {
      defaults: z
        .boolean({ error: expecting('true or false') })
        .optional()
        .describe("false drops Maestro's default policies (SBOM present, artifact signed, no critical vulnerabilities, tests passed); a policy named like a default replaces that one."),
      policies: policiesSchema.prefault([]),
    },
    { error: expecting('a mapping with policies') },
  )
  .describe('Organisation policies: apply to every project.');

export type PolicySpec = z.output<typeof policySchema>;
export type PolicySpecInput = z.input<typeof policySchema>;
export type PolicyFile = z.output<typeof policyFileSchema>;
