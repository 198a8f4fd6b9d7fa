import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { affectsVersion, inRange, packageKey, parseGoVersion, versionOrder, type Ecosystem } from '../../../src/supply-chain/vulns/index.js';
import type { AffectedPackage, OsvEvent } from '../../../src/supply-chain/vulns/osv-advisory.js';

const entry = (ecosystem: Ecosystem, events: OsvEvent[], versions: string[] = []): AffectedPackage => ({
  ecosystem,
  name: 'pkg',
  key: packageKey(ecosystem, 'pkg'),
  ranges: events.length ? [{ type: 'ECOSYSTEM', events }] : [],
  versions,
});
const ev = (kind: OsvEvent['kind'], version: string): OsvEvent => ({ kind, version });

// Whole numbers written as each ecosystem writes versions, so one model checks all three orders.
const spell: Record<Ecosystem, (n: number) => string> = {
  npm: (n) => `${n}.0.0`,
  PyPI: (n) => (n % 2 ? `${n}.0` : `${n}`),
  Go: (n) => (n % 2 ? `v${n}.0.0` : `${n}.0.0`),
};

describe('OSV ranges', () => {
  it('agree with a model of disjoint affected stretches, whatever order the events come in', () => {
    const stretch = fc.record({ length: fc.integer({ min: 1, max: 4 }), gap: fc.integer({ min: 1, max: 3 }), end: fc.constantFrom('fixed', 'last_affected', 'open') });
    fc.assert(
      fc.property(
        fc.constantFrom<Ecosystem>('npm', 'PyPI', 'Go'),
        fc.boolean(),
        fc.array(stretch, { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 0, max: 30 }),
        fc.integer(),
        (ecosystem, fromZero, stretches, probe, seed) => {
          // Build stretches [start, end) on whole numbers; only the last may stay open.
          const model: Array<{ start: number; end?: number; kind: string }> = [];
          const events: OsvEvent[] = [];
          let at = 1;
          stretches.forEach((s, i) => {
            const open = s.end === 'open' && i === stretches.length - 1;
            const start = i === 0 && fromZero ? 0 : at;
            events.push(ev('introduced', start === 0 ? '0' : spell[ecosystem](start)));
            const last = start + s.length;
            if (open) model.push({ start, kind: 'open' });
            else if (s.end === 'fixed' || s.end === 'open') {
              model.push({ start, end: last, kind: 'fixed' });
              events.push(ev('fixed', spell[ecosystem](last)));
            } else {
              model.push({ start, end: last + 1, kind: 'last_affected' });
              events.push(ev('last_affected', spell[ecosystem](last)));
            }
            at = last + 1 + s.gap;
          });
          const shuffled = [...events].sort(() => ((seed = (seed * 1103515245 + 12345) | 0) & 4 ? 1 : -1));
          const order = versionOrder(ecosystem);
          const verdict = inRange(order, shuffled, order.parse(spell[ecosystem](probe))!);
          const hit = model.find((m) => probe >= m.start && (m.end === undefined || probe < m.end));
          expect(verdict.affected).toBe(Boolean(hit));
          expect(verdict.fixed).toBe(hit?.kind === 'fixed' ? spell[ecosystem](hit.end!) : undefined);
        },
      ),
    );
  });

  it('npm: pre-releases sort before their release, build metadata does not count', () => {
    const range = entry('npm', [ev('introduced', '0'), ev('fixed', '4.17.21')]);
    expect(affectsVersion(range, '4.17.21-beta.1')).toMatchObject({ affected: true, fixedVersions: ['4.17.21'] });
    expect(affectsVersion(range, '4.17.21+build.5').affected).toBe(false);
    expect(affectsVersion(range, '4.17.20').affected).toBe(true);
    expect(affectsVersion(range, '5.0.0').affected).toBe(false);
  });

  it('Go: pseudo-versions sort by their base then time, v prefixes and +incompatible are fine', () => {
    // GHSA-69cg-p879-7622 is fixed in a pseudo-version of golang.org/x/net.
    const fixedInPseudo = entry('Go', [ev('introduced', '0'), ev('fixed', '0.0.0-20220906165146-f3363e06e74c')]);
    expect(affectsVersion(fixedInPseudo, 'v0.0.0-20220802035823-d1e2c7b1a5b5').affected).toBe(true);
    expect(affectsVersion(fixedInPseudo, 'v0.0.0-20220906165146-f3363e06e74c').affected).toBe(false);
    expect(affectsVersion(fixedInPseudo, 'v0.1.0').affected).toBe(false);
    // A pseudo-version based on v1.3.0 (v1.3.1-0.…) is after v1.3.0 and before v1.3.1.
    const gin = entry('Go', [ev('introduced', '1.3.1-0.20190301021747-ccb9e902956d'), ev('last_affected', '1.9.0')]);
    expect(affectsVersion(gin, 'v1.3.0').affected).toBe(false);
    expect(affectsVersion(gin, 'v1.3.1-0.20190301021747-ccb9e902956d').affected).toBe(true);
    expect(affectsVersion(gin, 'v1.3.1').affected).toBe(true);
    expect(affectsVersion(gin, 'v1.9.0')).toEqual({ affected: true, fixedVersions: [], problems: [] });
    expect(affectsVersion(gin, 'v1.9.1').affected).toBe(false);
    const docker = entry('Go', [ev('introduced', '0'), ev('fixed', '20.10.11+incompatible')]);
    expect(affectsVersion(docker, 'v20.10.9+incompatible').affected).toBe(true);
    expect(affectsVersion(docker, 'v20.10.11+incompatible').affected).toBe(false);
    expect(parseGoVersion('v1')?.version).toBe('1.0.0');
    expect(parseGoVersion('v1.2')?.version).toBe('1.2.0');
    expect(parseGoVersion('(devel)')).toBeUndefined();
  });

  it('PyPI: epochs, pre, post and local versions', () => {
    const range = entry('PyPI', [ev('introduced', '2.0'), ev('fixed', '2.11.3')]);
    expect(affectsVersion(range, '2.11.3rc1').affected).toBe(true);
    expect(affectsVersion(range, '2.11.3').affected).toBe(false);
    expect(affectsVersion(range, '2.11.3.post1').affected).toBe(false);
    expect(affectsVersion(range, '2.11.2+local.7').affected).toBe(true);
    expect(affectsVersion(range, '1!1.0').affected).toBe(false);
    expect(affectsVersion(range, '2.0.dev1').affected).toBe(false);
  });

  it('a versions list matches exactly (in the ecosystem order) and still reports the next fix the ranges know', () => {
    const listed = entry('PyPI', [ev('introduced', '3.0'), ev('fixed', '3.2')], ['1.0', '2.0.0']);
    expect(affectsVersion(listed, '2.0')).toEqual({ affected: true, fixedVersions: ['3.2'], problems: [] });
    expect(affectsVersion(listed, '1.0.0').affected).toBe(true);
    expect(affectsVersion(listed, '1.5').affected).toBe(false);
    // An unreadable version can still be listed; ranges cannot judge it.
    expect(affectsVersion(entry('npm', [ev('introduced', '0')], ['github:me/pkg#abc']), 'github:me/pkg#abc').affected).toBe(true);
  });

  it('last_affected includes its version, limit excludes it, and an unreadable event is a problem, not a guess', () => {
    expect(affectsVersion(entry('npm', [ev('introduced', '1.0.0'), ev('last_affected', '1.2.0')]), '1.2.0').affected).toBe(true);
    expect(affectsVersion(entry('npm', [ev('introduced', '1.0.0'), ev('limit', '1.2.0')]), '1.2.0').affected).toBe(false);
    const broken = affectsVersion(entry('npm', [ev('introduced', '0'), ev('fixed', 'not-a-version')]), '1.0.0');
    expect(broken.affected).toBe(false);
    expect(broken.problems[0]).toMatch(/"not-a-version" is not a valid npm \(semver\) version/);
  });
});
