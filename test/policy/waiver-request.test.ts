import { describe, expect, it } from 'vitest';
import { ARTIFACT_WAIVER_LIFETIME_MS, DEFAULT_ORGANISATION_POLICIES, planWaiver, waiverNote } from '../../src/policy/index.js';
import { DIGEST } from './facts.js';

const NOW = new Date('2025-03-12T10:30:00Z');

function refusal(request: Parameters<typeof planWaiver>[0]): string {
  try {
    planWaiver(request, NOW);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('the request was accepted');
}

describe('planWaiver', () => {
  it('waives one artifact for 30 days, or any artifact for a time', () => {
    expect(planWaiver({ policy: 'no-critical-vulnerabilities', artifact: `sha256:${DIGEST.toUpperCase()}`, reason: ' not reachable ' }, NOW)).toEqual({
      policy: 'no-critical-vulnerabilities',
      artifactDigest: DIGEST,
      reason: 'not reachable',
      expiresAt: new Date(NOW.getTime() + ARTIFACT_WAIVER_LIFETIME_MS),
    });
    expect(planWaiver({ policy: 'weekend-freeze', for: '2h', environment: 'production', reason: 'hotfix' }, NOW)).toEqual({
      policy: 'weekend-freeze',
      environment: 'production',
      reason: 'hotfix',
      expiresAt: new Date('2025-03-12T12:30:00Z'),
    });
  });

  it('refuses a request that does not say what it covers, or says too much, or has no reason', () => {
    expect(refusal({ policy: 'p', reason: 'r' })).toMatch(/say what the waiver covers: --artifact DIGEST .* or --for 24h/);
    expect(refusal({ policy: 'p', artifact: DIGEST, for: '1h', reason: 'r' })).toMatch(/one artifact or a time, not both/);
    expect(refusal({ policy: 'p', for: '1h', reason: '  ' })).toMatch(/say why the policy is waived/);
    expect(refusal({ policy: 'p', artifact: 'abc', reason: 'r' })).toMatch(/is not an artifact digest: give its sha256 as 64 hex characters/);
    expect(refusal({ policy: 'p', for: 'soon', reason: 'r' })).toMatch(/"soon" is not a duration/);
    expect(refusal({ policy: 'p', for: '91d', reason: 'r' })).toMatch(/at most 90d/);
    expect(refusal({ policy: 'No Such', for: '1h', reason: 'r' })).toMatch(/is not a policy name/);
    expect(refusal({ policy: 'p', for: '1h', environment: 'Prod', reason: 'r' })).toMatch(/not an environment name/);
  });

  it('notes a name that is no organisation or default policy, with a guess', () => {
    expect(waiverNote('artifact-signed', DEFAULT_ORGANISATION_POLICIES)).toBeUndefined();
    expect(waiverNote('artifact-sgned', DEFAULT_ORGANISATION_POLICIES)).toBe(
      'no organisation or default policy is named "artifact-sgned" (did you mean "artifact-signed"?); the waiver covers a policy of that name in the project\'s maestro.yml',
    );
  });
});
