import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluatePolicies, type Policy, type PolicyInput, type Waiver } from '../../src/policy/index.js';
import { DIGEST, OTHER_DIGEST, input } from './facts.js';

const NOW = new Date('2025-03-12T10:30:00Z');
const HOUR = 3_600_000;

const policy = (overrides: Partial<Policy> = {}): Policy => ({
  name: 'no-critical',
  action: 'deny',
  environments: [],
  expression: 'input.vulnerabilities.counts.critical == 0',
  message: 'critical vulnerabilities',
  source: 'organisation',
  ...overrides,
});

const waiver = (overrides: Partial<Waiver> = {}): Waiver => ({
  id: 'wvr_1',
  policy: 'no-critical',
  waivedBy: 'grace',
  reason: 'not reachable',
  expiresAt: new Date(NOW.getTime() + HOUR),
  ...overrides,
});

const critical = input({ vulnerabilities: { status: 'complete', findings: [{ id: 'GHSA-jf85-cpcp-j695', severity: 'CRITICAL' }] } });

describe('evaluatePolicies', () => {
  it('allows when every policy passes, and denies when a deny policy fails', () => {
    expect(evaluatePolicies([policy()], input(), [], NOW)).toEqual({
      outcome: 'allow',
      results: [{ policy: 'no-critical', source: 'organisation', action: 'deny', passed: true, message: '' }],
      skipped: [],
    });
    expect(evaluatePolicies([policy()], critical, [], NOW)).toMatchObject({
      outcome: 'deny',
      results: [{ passed: false, message: 'critical vulnerabilities' }],
    });
  });

  it('lets a failed warn policy through, saying so', () => {
    const decision = evaluatePolicies([policy({ action: 'warn' })], critical, [], NOW);
    expect(decision.outcome).toBe('allow');
    expect(decision.results[0]).toMatchObject({ action: 'warn', passed: false, message: 'critical vulnerabilities' });
  });

  it('applies a policy only in the environments it names, globs included', () => {
    const policies = [policy({ name: 'prod', environments: ['production'] }), policy({ name: 'previews', environments: ['pr-*'] })];
    const preview = input({ environment: { name: 'pr-12', kind: 'preview' } });
    const decision = evaluatePolicies(policies, preview, [], NOW);
    expect(decision.results.map((r) => r.policy)).toEqual(['previews']);
    expect(decision.skipped).toEqual([{ policy: 'prod', source: 'organisation', environments: ['production'] }]);
    expect(evaluatePolicies(policies, input({ environment: { name: 'staging', kind: 'other' } }), [], NOW)).toMatchObject({ outcome: 'allow', results: [] });
  });

  it('lets a failed policy through with a waiver in force for that policy, naming who and why', () => {
    const decision = evaluatePolicies([policy()], critical, [waiver()], NOW);
    expect(decision.outcome).toBe('allow');
    expect(decision.results[0]).toMatchObject({
      passed: false,
      waived: { id: 'wvr_1', by: 'grace', reason: 'not reachable', expires: '2025-03-12T11:30:00.000Z' },
    });
  });

  it('counts an artifact waiver for that artifact only, and an environment waiver in that environment only', () => {
    expect(evaluatePolicies([policy()], critical, [waiver({ artifactDigest: DIGEST })], NOW).outcome).toBe('allow');
    expect(evaluatePolicies([policy()], critical, [waiver({ artifactDigest: OTHER_DIGEST })], NOW).outcome).toBe('deny');
    expect(evaluatePolicies([policy()], critical, [waiver({ environment: 'production' })], NOW).outcome).toBe('allow');
    expect(evaluatePolicies([policy()], critical, [waiver({ environment: 'staging' })], NOW).outcome).toBe('deny');
    expect(evaluatePolicies([policy()], critical, [waiver({ policy: 'another' })], NOW).outcome).toBe('deny');
  });

  it('does not count an expired or revoked waiver, and the result says it lapsed', () => {
    const expired = evaluatePolicies([policy()], critical, [waiver({ expiresAt: new Date(NOW.getTime() - HOUR) })], NOW);
    expect(expired.outcome).toBe('deny');
    expect(expired.results[0]).toMatchObject({
      message: 'critical vulnerabilities (the waiver by grace expired at 2025-03-12T09:30:00.000Z)',
      lapsedWaiver: { id: 'wvr_1', by: 'grace', expired: '2025-03-12T09:30:00.000Z' },
    });
    expect(evaluatePolicies([policy()], critical, [waiver({ expiresAt: NOW })], NOW).outcome).toBe('deny');

    const revoked = evaluatePolicies([policy()], critical, [waiver({ revokedAt: new Date(NOW.getTime() - 60_000) })], NOW);
    expect(revoked.outcome).toBe('deny');
    expect(revoked.results[0]!.message).toBe('critical vulnerabilities (the waiver by grace was revoked at 2025-03-12T10:29:00.000Z)');
    expect(revoked.results[0]!.lapsedWaiver).toMatchObject({ revoked: '2025-03-12T10:29:00.000Z' });

    // One lapsed and one in force: the one in force counts.
    expect(evaluatePolicies([policy()], critical, [waiver({ id: 'old', revokedAt: NOW }), waiver({ id: 'new' })], NOW).results[0]!.waived?.id).toBe('new');
  });

  it('denies when an expression fails to evaluate, with the error in the message, and no waiver covers that', () => {
    const broken = policy({ name: 'coverage', expression: 'input.build.coverage.line >= 80', message: 'coverage below 80%' });
    const noCoverage = input({ build: { testsPassed: true, durationMs: 5 } });
    const decision = evaluatePolicies([broken], noCoverage, [waiver({ policy: 'coverage' })], NOW);
    expect(decision.outcome).toBe('deny');
    expect(decision.results[0]).toMatchObject({ passed: false, error: expect.stringMatching(/coverage/) });
    expect(decision.results[0]!.waived).toBeUndefined();
    expect(decision.results[0]!.message).toMatch(/^coverage below 80% \(the policy could not be evaluated: .*a waiver does not cover an evaluation error/);
  });

  it('denies when a policy does not compile (a bad policy never allows)', () => {
    const decision = evaluatePolicies([policy({ expression: 'input.nope == 1' })], input(), [], NOW);
    expect(decision.outcome).toBe('deny');
    expect(decision.results[0]!.error).toMatch(/does not compile: input has no field `nope`/);
  });
});

// ---- properties ----

/** Expressions over the input that evaluate to true, false, or always fail at run time (absent key, bad arithmetic, no boolean). */
const passing = fc.constantFrom('input.artifact.signed', 'input.vulnerabilities.counts.low >= 0', 'true', 'input.project == "shop"');
const failing = fc.constantFrom('input.artifact.signed == false', 'input.vulnerabilities.counts.low < 0', 'false', 'input.project == "other"');
const erroring = fc.constantFrom(
  'int(input.project) == 1',
  'input.build.durationMs / 0 == 1',
  'input.project + 1 == 2',
  'input.sbom.components[99].name == "x"',
  'input.sbom.components.size() == 1 ? input.project : false',
);

const policyOf = (expression: fc.Arbitrary<string>, action: fc.Arbitrary<'deny' | 'warn'>) =>
  fc.record({
    name: fc.constantFrom('a', 'b', 'c', 'd'),
    action,
    environments: fc.constantFrom([], ['production'], ['pr-*'], ['prod*', 'staging']),
    expression,
    message: fc.constant('m'),
    source: fc.constantFrom('default' as const, 'organisation' as const, 'project' as const),
  });

const anyPolicy = policyOf(fc.oneof(passing, failing, erroring), fc.constantFrom('deny' as const, 'warn' as const));

const waiverArb = fc.record({
  id: fc.constantFrom('w1', 'w2'),
  policy: fc.constantFrom('a', 'b', 'c', 'd'),
  artifactDigest: fc.option(fc.constantFrom(DIGEST, OTHER_DIGEST), { nil: undefined }),
  environment: fc.option(fc.constantFrom('production', 'pr-3'), { nil: undefined }),
  waivedBy: fc.constant('grace'),
  reason: fc.constant('r'),
  expiresAt: fc.integer({ min: -48, max: 48 }).map((h) => new Date(NOW.getTime() + h * HOUR)),
  revokedAt: fc.option(fc.constant(new Date(NOW.getTime() - HOUR)), { nil: undefined }),
});

const inputArb: fc.Arbitrary<PolicyInput> = fc
  .record({ environment: fc.constantFrom('production', 'pr-3', 'staging'), coverage: fc.boolean() })
  .map(({ environment, coverage }) =>
    input({
      environment: { name: environment, kind: environment === 'production' ? 'production' : environment.startsWith('pr-') ? 'preview' : 'other' },
      build: { testsPassed: true, durationMs: 10, ...(coverage ? { lineCoverage: 50 } : {}) },
    }),
  );

describe('evaluatePolicies (properties)', () => {
  it('an applying deny policy whose evaluation fails always denies, whatever else and whatever waivers', () => {
    fc.assert(
      fc.property(fc.array(anyPolicy, { maxLength: 5 }), policyOf(erroring, fc.constant('deny')), fc.array(waiverArb, { maxLength: 6 }), inputArb, (others, broken, waivers, document) => {
        const decision = evaluatePolicies([...others, { ...broken, environments: [] }], document, waivers, NOW);
        expect(decision.outcome).toBe('deny');
        const result = decision.results.at(-1)!;
        expect(result.passed).toBe(false);
        expect(result.error).toBeTruthy();
        expect(result.waived).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  it('warn policies never deny, whether they pass, fail or break, with or without waivers', () => {
    fc.assert(
      fc.property(fc.array(policyOf(fc.oneof(passing, failing, erroring), fc.constant('warn')), { maxLength: 8 }), fc.array(waiverArb, { maxLength: 6 }), inputArb, (policies, waivers, document) => {
        expect(evaluatePolicies(policies, document, waivers, NOW).outcome).toBe('allow');
      }),
      { numRuns: 300 },
    );
  });

  it('denies exactly when an applying deny policy failed without a waiver in force; every policy is reported once', () => {
    fc.assert(
      fc.property(fc.array(anyPolicy, { maxLength: 8 }), fc.array(waiverArb, { maxLength: 6 }), inputArb, (policies, waivers, document) => {
        const decision = evaluatePolicies(policies, document, waivers, NOW);
        expect(decision.results.length + decision.skipped.length).toBe(policies.length);
        const blocking = decision.results.filter((r) => r.action === 'deny' && !r.passed && !r.waived);
        expect(decision.outcome).toBe(blocking.length > 0 ? 'deny' : 'allow');
        for (const result of decision.results) {
          if (result.waived) {
            // A waiver only ever covers a plain failure, by a waiver that is in force.
            expect(result.passed).toBe(false);
            expect(result.error).toBeUndefined();
            expect(Date.parse(result.waived.expires)).toBeGreaterThan(NOW.getTime());
          }
          if (result.passed) expect(result.message).toBe('');
        }
      }),
      { numRuns: 300 },
    );
  });
});
