/** A release's facts for tests: a healthy one by default, changed by the test at hand. */
import { buildPolicyInput, type PolicyFacts, type PolicyInput } from '../../src/policy/index.js';

export const DIGEST = 'a'.repeat(64);
export const OTHER_DIGEST = 'b'.repeat(64);

export function facts(overrides: Partial<PolicyFacts> = {}): PolicyFacts {
  return {
    project: 'shop',
    service: 'web',
    environment: { name: 'production', kind: 'production' },
    actor: 'ada',
    // A Wednesday morning: outside every freeze window of the examples.
    now: new Date('2025-03-12T10:30:00Z'),
    build: { testsPassed: true, durationMs: 41_250, lineCoverage: 84.2 },
    sbom: { complete: true, components: [{ name: 'express', version: '4.21.2', purl: 'pkg:npm/express@4.21.2', licenses: ['MIT'] }] },
    vulnerabilities: { status: 'complete', findings: [] },
    artifact: { digest: DIGEST, signed: true, provenance: { verified: true, builder: 'maestro', source: 'git+https://git.example.com/shop.git' } },
    ...overrides,
  };
}

export function input(overrides: Partial<PolicyFacts> = {}): PolicyInput {
  return buildPolicyInput(facts(overrides));
}
