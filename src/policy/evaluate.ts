/**
 * The gate's decision, as a pure function of the policies, the input, the waivers and the time. Rules:
 * a failed deny policy denies unless a waiver in force covers it; a warn policy never denies; an
 * expression that cannot be evaluated (or gives no boolean) fails its policy, and no waiver covers that,
 * since a broken rule says nothing about the release.
 */
import { compileExpression, runExpression } from './cel.js';
import { appliesTo } from './environments.js';
import type { PolicyInput } from './input.js';
import type { Policy, PolicyDecision, PolicyResult, Waiver } from './types.js';

export function evaluatePolicies(policies: readonly Policy[], input: PolicyInput, waivers: readonly Waiver[], now: Date): PolicyDecision {
  const results: PolicyResult[] = [];
  const skipped: PolicyDecision['skipped'] = [];
  for (const policy of policies) {
    if (!appliesTo(policy.environments, input.environment.name)) {
      skipped.push({ policy: policy.name, source: policy.source, environments: [...policy.environments] });
      continue;
    }
    results.push(evaluateOne(policy, input, waivers, now));
  }
  const denied = results.some((result) => result.action === 'deny' && !result.passed && !result.waived);
  return { outcome: denied ? 'deny' : 'allow', results, skipped };
}

function evaluateOne(policy: Policy, input: PolicyInput, waivers: readonly Waiver[], now: Date): PolicyResult {
  const base = { policy: policy.name, source: policy.source, action: policy.action };
  const compiled = compileExpression(policy.expression);
  const outcome = compiled.ok ? runExpression(compiled.program, input) : { ok: false as const, error: `the expression does not compile: ${compiled.error.message}` };
  if (outcome.ok && outcome.value) return { ...base, passed: true, message: '' };

  const relevant = waivers.filter((waiver) => covers(waiver, policy.name, input));
  const inForce = relevant.filter((waiver) => isInForce(waiver, now)).sort((a, b) => b.expiresAt.getTime() - a.expiresAt.getTime());

  if (!outcome.ok) {
    const note = inForce.length > 0 ? '; a waiver does not cover an evaluation error: fix the expression' : '';
    return { ...base, passed: false, message: `${policy.message} (the policy could not be evaluated: ${outcome.error}${note})`, error: outcome.error };
  }

  const waiver = inForce[0];
  if (waiver) {
    return {
      ...base,
      passed: false,
      message: policy.message,
      waived: { id: waiver.id, by: waiver.waivedBy, reason: waiver.reason, expires: waiver.expiresAt.toISOString() },
    };
  }

  // The newest lapsed waiver is news worth telling: the person who relied on it sees why it stopped.
  const lapsed = relevant.sort((a, b) => lapsedAt(b).getTime() - lapsedAt(a).getTime())[0];
  if (lapsed) {
    const revoked = wasRevoked(lapsed);
    const when = lapsedAt(lapsed).toISOString();
    return {
      ...base,
      passed: false,
      message: `${policy.message} (the waiver by ${lapsed.waivedBy} ${revoked ? 'was revoked' : 'expired'} at ${when})`,
      lapsedWaiver: { id: lapsed.id, by: lapsed.waivedBy, reason: lapsed.reason, ...(revoked ? { revoked: when } : { expired: when }) },
    };
  }
  return { ...base, passed: false, message: policy.message };
}

/** A waiver names the policy and, when it says so, this artifact and this environment. */
function covers(waiver: Waiver, policy: string, input: PolicyInput): boolean {
  return (
    waiver.policy === policy &&
    (waiver.artifactDigest === undefined || waiver.artifactDigest === input.artifact.digest) &&
    (waiver.environment === undefined || waiver.environment === input.environment.name)
  );
}

export function isInForce(waiver: Pick<Waiver, 'expiresAt' | 'revokedAt'>, now: Date): boolean {
  return waiver.revokedAt === undefined && waiver.expiresAt.getTime() > now.getTime();
}

/** Revoked before it would have expired (revoking an expired waiver changes nothing about why it lapsed). */
function wasRevoked(waiver: Waiver): boolean {
  return waiver.revokedAt !== undefined && waiver.revokedAt.getTime() < waiver.expiresAt.getTime();
}

function lapsedAt(waiver: Waiver): Date {
  return wasRevoked(waiver) ? waiver.revokedAt! : waiver.expiresAt;
}
