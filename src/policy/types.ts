/** The policy module's vocabulary: policies with their origin, waivers, results and decisions. */
import type { PolicyAction } from '../manifest/index.js';

/** Where a policy comes from; an organisation's and the defaults apply to every project. */
export const POLICY_SOURCES = ['default', 'organisation', 'project'] as const;
export type PolicySource = (typeof POLICY_SOURCES)[number];

export interface Policy {
  name: string;
  action: PolicyAction;
  /** Environment names or globs (`pr-*`); empty: every environment. */
  environments: readonly string[];
  /** CEL over `input`, true when the release may go. */
  expression: string;
  /** Shown when the expression is false. */
  message: string;
  source: PolicySource;
}

/** What evaluation needs of a waiver (the store's PolicyWaiver has this shape). */
export interface Waiver {
  id: string;
  policy: string;
  artifactDigest?: string;
  environment?: string;
  waivedBy: string;
  reason: string;
  expiresAt: Date;
  revokedAt?: Date;
}

export interface PolicyResult {
  policy: string;
  source: PolicySource;
  action: PolicyAction;
  passed: boolean;
  /** Why it failed (the policy's message, and the error when the expression could not be evaluated); '' when it passed. */
  message: string;
  /** The expression's evaluation error: a failure no waiver covers. */
  error?: string;
  /** The waiver that lets a failed policy through. */
  waived?: { id: string; by: string; reason: string; expires: string };
  /** A failed policy's waiver that no longer counts: expired, or revoked. */
  lapsedWaiver?: { id: string; by: string; reason: string; expired?: string; revoked?: string };
}

export interface PolicyDecision {
  outcome: 'allow' | 'deny';
  /** One per policy that applies to the environment, in the order the policies were given. */
  results: PolicyResult[];
  /** Policies that do not apply to this environment. */
  skipped: { policy: string; source: PolicySource; environments: string[] }[];
}
