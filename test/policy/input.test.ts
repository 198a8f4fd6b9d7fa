import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildPolicyInput, normaliseSeverity, policyInputSchema, timeOf, type PolicyFacts } from '../../src/policy/index.js';
import { facts } from './facts.js';
import { advisories, findingsOf } from './osv.js';

describe('buildPolicyInput', () => {
  it('counts real advisories once each, by their GitHub severity (MODERATE is medium)', () => {
    const all = advisories();
    expect(all).toHaveLength(67);
    const document = buildPolicyInput(facts({ vulnerabilities: { status: 'complete', findings: findingsOf(all) } }));
    const expected = { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 };
    for (const advisory of all) expected[({ CRITICAL: 'critical', HIGH: 'high', MODERATE: 'medium', LOW: 'low' } as const)[advisory.severity as 'HIGH'] ?? 'unknown'] += 1;
    expect(document.vulnerabilities.counts).toEqual(expected);
    expect(expected.critical).toBeGreaterThan(0);
    expect(document.vulnerabilities.ids).toEqual([...new Set(all.map((a) => a.id))].sort());
  });

  it('keeps the highest severity when one advisory is reported at several', () => {
    const document = buildPolicyInput(
      facts({ vulnerabilities: { status: 'complete', findings: [{ id: 'GHSA-1', severity: 'low' }, { id: 'GHSA-1', severity: 'High' }, { id: 'GHSA-2' }] } }),
    );
    expect(document.vulnerabilities.counts).toEqual({ critical: 0, high: 1, medium: 0, low: 0, unknown: 1 });
  });

  it('says what is missing: no SBOM, no scan, no provenance, no coverage', () => {
    const { sbom: _sbom, vulnerabilities: _vulnerabilities, ...rest } = facts();
    const document = buildPolicyInput({ ...rest, build: { testsPassed: false, durationMs: 12.7 }, artifact: { digest: 'd', signed: false } });
    expect(document.sbom).toEqual({ present: false, complete: false, components: [], licenses: [] });
    expect(document.vulnerabilities).toEqual({ status: 'unavailable', counts: { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 }, ids: [] });
    expect(document.artifact.provenance).toEqual({ verified: false, builder: '', source: '' });
    expect(document.build).toEqual({ testsPassed: false, durationMs: 13 });
  });

  it("takes each component's ecosystem from its purl and gathers the licenses, sorted, once each", () => {
    const document = buildPolicyInput(
      facts({
        sbom: {
          complete: false,
          components: [
            { name: '@scope/ui', version: '1.0.0', purl: 'pkg:npm/%40scope/ui@1.0.0', licenses: ['MIT', 'Apache-2.0'] },
            { name: 'requests', version: '2.31.0', purl: 'pkg:pypi/requests@2.31.0', licenses: ['Apache-2.0'] },
            { name: 'golang.org/x/net', version: 'v0.17.0', ecosystem: 'go' },
          ],
        },
      }),
    );
    expect(document.sbom.components.map((c) => c.ecosystem)).toEqual(['npm', 'pypi', 'go']);
    expect(document.sbom.licenses).toEqual(['Apache-2.0', 'MIT']);
    expect(document.sbom.components[2]).toEqual({ name: 'golang.org/x/net', version: 'v0.17.0', ecosystem: 'go', purl: '', licenses: [] });
    expect(document.sbom.complete).toBe(false);
  });

  it('gives the time in UTC with the hour and the weekday freeze windows test (0 is Sunday)', () => {
    expect(timeOf(new Date('2025-03-16T23:59:59+02:00'))).toEqual({ now: '2025-03-16T21:59:59.000Z', hour: 21, weekday: 0 });
    expect(timeOf(new Date('2025-03-14T16:00:00Z'))).toMatchObject({ hour: 16, weekday: 5 });
  });

  it('normalises severities as advisories write them', () => {
    expect(['CRITICAL', 'High', 'moderate', 'MEDIUM', 'low', '', undefined, 'severe'].map(normaliseSeverity)).toEqual([
      'critical',
      'high',
      'medium',
      'medium',
      'low',
      'unknown',
      'unknown',
      'unknown',
    ]);
  });

  it('always builds a document the input schema accepts (property)', () => {
    const text = fc.string({ maxLength: 12 });
    const factsArb: fc.Arbitrary<PolicyFacts> = fc.record({
      project: text,
      service: text,
      environment: fc.record({ name: text, kind: fc.constantFrom('production' as const, 'preview' as const, 'other' as const) }),
      actor: text,
      now: fc.date({ min: new Date('1971-01-01T00:00:00Z'), max: new Date('2999-12-31T00:00:00Z'), noInvalidDate: true }),
      build: fc.record({ testsPassed: fc.boolean(), durationMs: fc.double({ min: 0, max: 1e9, noNaN: true }), lineCoverage: fc.option(fc.double({ min: 0, max: 100, noNaN: true }), { nil: undefined }) }),
      sbom: fc.option(
        fc.record({
          complete: fc.boolean(),
          components: fc.array(fc.record({ name: text, version: text, purl: fc.option(text, { nil: undefined }), licenses: fc.option(fc.array(text), { nil: undefined }) })),
        }),
        { nil: undefined },
      ),
      vulnerabilities: fc.option(
        fc.record({ status: fc.constantFrom('complete' as const, 'unavailable' as const), findings: fc.array(fc.record({ id: text, severity: fc.option(text, { nil: undefined }) })) }),
        { nil: undefined },
      ),
      artifact: fc.record({ digest: text, signed: fc.boolean() }),
    });
    fc.assert(
      fc.property(factsArb, (value) => {
        const document = buildPolicyInput(value);
        expect(policyInputSchema.safeParse(document).success).toBe(true);
        const counts = document.vulnerabilities.counts;
        expect(counts.critical + counts.high + counts.medium + counts.low + counts.unknown).toBe(document.vulnerabilities.ids.length);
      }),
      { numRuns: 300 },
    );
  });
});
