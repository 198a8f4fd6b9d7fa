import { describe, expect, it } from 'vitest';
import { buildPolicyInput } from '../../src/policy/index.js';
import { lineCoverageOf, releaseFacts, type ReleaseFactsInput } from '../../src/server/release-gate.js';
import type { Build, BuildStep, Deployment } from '../../src/store/index.js';
import type { DeploymentPlan } from '../../src/server/deployer.js';

const plan = { service: { project: 'shop', service: 'web', environment: 'production', path: '.' } } as unknown as DeploymentPlan;
const deployment = { id: 'dpl_1', sourceDigest: 'a'.repeat(64), createdBy: 'ci-token', config: plan } as unknown as Deployment;
const build = {
  id: 'bld_1',
  status: 'succeeded',
  artifactDigest: 'b'.repeat(64),
  createdAt: new Date('2026-01-01T10:00:00Z'),
  startedAt: new Date('2026-01-01T10:00:01Z'),
  finishedAt: new Date('2026-01-01T10:00:31Z'),
} as unknown as Build;
const step = (status: BuildStep['status'], extra: Partial<BuildStep> = {}): BuildStep =>
  ({ buildId: 'bld_1', name: 'test', position: 2, status, command: 'npm test', attempt: 1, ...extra }) as BuildStep;

const input = (over: Partial<ReleaseFactsInput> = {}): ReleaseFactsInput => ({
  deployment,
  plan,
  build,
  steps: [step('succeeded')],
  evidence: {
    sbom: { complete: false, components: [{ name: 'minimist', version: '1.2.5', purl: 'pkg:npm/minimist@1.2.5', licenses: ['MIT'] }] },
    vulnerabilities: { status: 'complete', findings: [{ id: 'GHSA-xvch-5gv4-984h', severity: 'critical' }] },
  } as unknown as ReleaseFactsInput['evidence'],
  environmentKind: 'production',
  now: new Date('2026-01-02T09:30:00Z'),
  ...over,
});

describe('what the policy gate is told about a release', () => {
  it('carries the build, SBOM, scan, verified artifact, environment and actor into the input', () => {
    const policyInput = buildPolicyInput(releaseFacts(input({ lineCoverage: 84.5 })));
    expect(policyInput).toMatchObject({
      project: 'shop',
      service: 'web',
      build: { testsPassed: true, durationMs: 30_000, coverage: { line: 84.5 } },
      sbom: { present: true, complete: false, licenses: ['MIT'] },
      vulnerabilities: { status: 'complete', counts: { critical: 1, high: 0 }, ids: ['GHSA-xvch-5gv4-984h'] },
      artifact: { digest: 'b'.repeat(64), signed: true, provenance: { verified: true, source: `sha256:${'a'.repeat(64)}` } },
      environment: { name: 'production', kind: 'production' },
      actor: { name: 'ci-token' },
      time: { hour: 9, weekday: 5 },
    });
  });

  it('counts tests as passed when they passed, were reused from a passing build, or are not configured; not when they failed', () => {
    expect(releaseFacts(input({ steps: [step('skipped', { cache: 'hit' })] })).build.testsPassed).toBe(true);
    expect(releaseFacts(input({ steps: [] })).build.testsPassed).toBe(true);
    expect(releaseFacts(input({ steps: [step('failed')] })).build.testsPassed).toBe(false);
    expect(releaseFacts(input({ steps: [step('cancelled')] })).build.testsPassed).toBe(false);
  });

  it('leaves coverage out when the build reported none', () => {
    expect(buildPolicyInput(releaseFacts(input())).build).not.toHaveProperty('coverage');
  });
});

describe('line coverage from an Istanbul json-summary', () => {
  it('reads total.lines.pct', () => {
    expect(lineCoverageOf(JSON.stringify({ total: { lines: { pct: 91.25 } } }))).toBe(91.25);
  });
  it('ignores what is not a summary', () => {
    expect(lineCoverageOf('not json')).toBeUndefined();
    expect(lineCoverageOf(JSON.stringify({ total: { lines: { pct: 'Unknown' } } }))).toBeUndefined();
    expect(lineCoverageOf(JSON.stringify({ total: { lines: { pct: 140 } } }))).toBeUndefined();
  });
});
