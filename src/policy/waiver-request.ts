/** What a request to waive a policy asks for, checked and turned into a waiver to store (pure). */
import { MaestroError, parseDuration } from '../common/index.js';
import { closestName } from '../manifest/suggest.js';
import type { OrganisationPolicies } from './catalogue.js';

/** A waiver for one artifact still ends: a release that old is rebuilt, not waived again by accident. */
export const ARTIFACT_WAIVER_LIFETIME_MS = 30 * 86_400_000;
/** The longest time-bound waiver: an exception that outlives a quarter is a policy to change instead. */
export const MAX_WAIVER_MS = 90 * 86_400_000;
export const MAX_REASON_LENGTH = 500;

const POLICY_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const ENVIRONMENT = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const DIGEST = /^(?:sha256:)?([0-9a-f]{64})$/i;

export interface WaiverRequest {
  policy: string;
  /** The artifact's sha256 (hex, `sha256:` prefix allowed): the waiver covers releases of it only. */
  artifact?: string;
  /** A duration like 24h: the waiver covers any artifact until then. */
  for?: string;
  /** Only this environment. */
  environment?: string;
  reason: string;
}

export interface PlannedWaiver {
  policy: string;
  artifactDigest?: string;
  environment?: string;
  reason: string;
  expiresAt: Date;
}

export function planWaiver(request: WaiverRequest, now: Date): PlannedWaiver {
  const bad = (field: string, message: string) => new MaestroError('validation_error', message, { field });
  const policy = request.policy.trim();
  if (!POLICY_NAME.test(policy)) throw bad('policy', `${JSON.stringify(request.policy)} is not a policy name: policies are named with lowercase letters, digits and -, like no-critical-vulnerabilities`);
  const reason = request.reason.trim();
  if (reason === '') throw bad('reason', 'say why the policy is waived (--reason): the reason is kept and shown with every result it lets through');
  if (reason.length > MAX_REASON_LENGTH) throw bad('reason', `the reason is ${reason.length} characters long; keep it to ${MAX_REASON_LENGTH}`);
  const environment = request.environment?.trim();
  if (environment !== undefined && !ENVIRONMENT.test(environment)) throw bad('environment', `${JSON.stringify(request.environment)} is not an environment name`);

  const hasArtifact = request.artifact !== undefined && request.artifact.trim() !== '';
  const hasTime = request.for !== undefined && request.for.trim() !== '';
  if (hasArtifact === hasTime) {
    throw bad(
      hasArtifact ? 'for' : 'artifact',
      hasArtifact
        ? 'a waiver covers one artifact or a time, not both: give --artifact DIGEST or --for 24h'
        : 'say what the waiver covers: --artifact DIGEST (releases of one artifact) or --for 24h (any artifact, for a time)',
    );
  }
  const scope = { policy, reason, ...(environment ? { environment } : {}) };
  if (hasArtifact) {
    const match = DIGEST.exec(request.artifact!.trim());
    if (!match) throw bad('artifact', `${JSON.stringify(request.artifact)} is not an artifact digest: give its sha256 as 64 hex characters (see \`maestro releases\` or \`maestro artifacts ls\`)`);
    return { ...scope, artifactDigest: match[1]!.toLowerCase(), expiresAt: new Date(now.getTime() + ARTIFACT_WAIVER_LIFETIME_MS) };
  }
  const ms = parseDuration(request.for!);
  if (ms === undefined || ms <= 0) throw bad('for', `${JSON.stringify(request.for)} is not a duration: write it like 30m, 24h or 7d`);
  if (ms > MAX_WAIVER_MS) throw bad('for', `a waiver may last at most ${MAX_WAIVER_MS / 86_400_000}d, not ${request.for}; change the policy instead if the exception is for good`);
  return { ...scope, expiresAt: new Date(now.getTime() + ms) };
}

/**
 * A waiver may name a policy of the project's maestro.yml, which the server does not know ahead of a
 * deploy; so an unknown name is accepted, with a note (and a guess) rather than refused.
 */
export function waiverNote(policy: string, organisation: OrganisationPolicies): string | undefined {
  const names = organisation.policies.map((p) => p.name);
  if (names.includes(policy)) return undefined;
  const guess = closestName(policy, names);
  return `no organisation or default policy is named "${policy}"${guess ? ` (did you mean "${guess}"?)` : ''}; the waiver covers a policy of that name in the project's maestro.yml`;
}
