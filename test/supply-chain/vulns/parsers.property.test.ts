import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MaestroError } from '../../../src/common/index.js';
import { readBulkAnswer } from '../../../src/supply-chain/vulns/npm-bulk.js';
import {
  componentsDigest,
  cvss3BaseScore,
  normaliseComponents,
  packageKey,
  parseGoVersion,
  parsePep440,
  readOsvAdvisory,
  type ScannedComponent,
} from '../../../src/supply-chain/vulns/index.js';

const ecosystem = fc.constantFrom('npm', 'PyPI', 'Go', 'Maven', 'crates.io');
const event = fc.oneof(
  fc.record({ introduced: fc.oneof(fc.constant('0'), fc.string()) }),
  fc.record({ fixed: fc.string() }),
  fc.record({ last_affected: fc.string() }),
  fc.record({ limit: fc.string() }),
  fc.anything(),
);
// OSV-like documents with every field possibly wrong: what a damaged database could hold.
const osvLike = fc.record(
  {
    id: fc.oneof(fc.string(), fc.anything()),
    withdrawn: fc.oneof(fc.string(), fc.anything()),
    aliases: fc.oneof(fc.array(fc.string()), fc.anything()),
    summary: fc.oneof(fc.string(), fc.anything()),
    details: fc.oneof(fc.string(), fc.anything()),
    severity: fc.oneof(fc.array(fc.record({ type: fc.constantFrom('CVSS_V3', 'CVSS_V4', 'X'), score: fc.string() })), fc.anything()),
    database_specific: fc.oneof(fc.record({ severity: fc.oneof(fc.constantFrom('LOW', 'MODERATE', 'HIGH', 'CRITICAL', 'weird', 'constructor', '__proto__'), fc.anything()) }), fc.anything()),
    affected: fc.oneof(
      fc.array(
        fc.record(
          {
            package: fc.oneof(fc.record({ ecosystem, name: fc.oneof(fc.string(), fc.anything()) }), fc.anything()),
            ranges: fc.oneof(fc.array(fc.record({ type: fc.constantFrom('ECOSYSTEM', 'SEMVER', 'GIT'), events: fc.oneof(fc.array(event), fc.anything()) })), fc.anything()),
            versions: fc.oneof(fc.array(fc.string()), fc.anything()),
          },
          { requiredKeys: [] },
        ),
      ),
      fc.anything(),
    ),
  },
  { requiredKeys: [] },
);

describe('readers of outside data never throw, whatever they are given', () => {
  it('OSV documents: an advisory, a skip or a problem', () => {
    fc.assert(
      fc.property(fc.oneof(osvLike, fc.anything()), (document) => {
        const read = readOsvAdvisory(document);
        expect(['advisory', 'skipped', 'problem']).toContain(read.kind);
        if (read.kind === 'advisory') {
          expect(read.advisory.affected.length).toBeGreaterThan(0);
          for (const entry of read.advisory.affected) {
            expect(['npm', 'PyPI', 'Go']).toContain(entry.ecosystem);
            expect(entry.key).toBe(packageKey(entry.ecosystem, entry.name));
            for (const range of entry.ranges) expect(range.events.some((e) => e.kind === 'introduced')).toBe(true);
          }
          expect(['critical', 'high', 'medium', 'low', 'unknown']).toContain(read.advisory.severity);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("npm's bulk answers: findings only for asked npm versions inside their advisory's range", () => {
    const components: ScannedComponent[] = [
      { ecosystem: 'npm', name: 'a', version: '1.2.3', purl: 'pkg:npm/a@1.2.3' },
      { ecosystem: 'PyPI', name: 'b', version: '1.0', purl: 'pkg:pypi/b@1.0' },
    ];
    const advisory = fc.record(
      { id: fc.anything(), url: fc.oneof(fc.string(), fc.constant('https://github.com/advisories/GHSA-2222-3333-4444')), title: fc.anything(), severity: fc.oneof(fc.constantFrom('high', 'moderate', 'constructor', '__proto__', 'toString'), fc.anything()), vulnerable_versions: fc.oneof(fc.constantFrom('<2.0.0', '>=1.3.0', '*', 'nonsense'), fc.anything()), cvss: fc.anything() },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(fc.record({ a: fc.oneof(fc.array(advisory), fc.anything()) }), fc.anything()), (answer) => {
        const reading = readBulkAnswer(answer, components, 'npm-registry');
        if (!reading.ok) return;
        for (const finding of reading.findings) {
          expect(finding.package.name).toBe('a');
          expect(['critical', 'high', 'medium', 'low', 'unknown']).toContain(finding.severity);
        }
        expect(reading.unscanned.map((u) => u.package.name)).toEqual(['b']);
      }),
      { numRuns: 300 },
    );
  });

  it('version and vector strings', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        parsePep440(text);
        parseGoVersion(text);
        const score = cvss3BaseScore(text);
        if (score !== undefined) expect(score).toBeGreaterThanOrEqual(0);
      }),
    );
  });

  it('components: a clear validation error, or a sorted list without duplicates whose digest ignores order', () => {
    const goodComponent = fc.record({ ecosystem: fc.constantFrom('npm', 'PyPI', 'Go'), name: fc.string({ minLength: 1 }), version: fc.string({ minLength: 1 }), purl: fc.string({ minLength: 1 }) });
    fc.assert(
      fc.property(fc.oneof(fc.array(goodComponent), fc.array(fc.oneof(goodComponent, fc.anything())), fc.anything()), (input) => {
        let list: ScannedComponent[];
        try {
          list = normaliseComponents(input);
        } catch (error) {
          expect(error).toBeInstanceOf(MaestroError);
          expect((error as MaestroError).code).toBe('validation_error');
          return;
        }
        expect(normaliseComponents([...list].reverse().concat(list))).toEqual(list);
        expect(componentsDigest(normaliseComponents([...list].reverse()))).toBe(componentsDigest(list));
      }),
    );
  });
});
