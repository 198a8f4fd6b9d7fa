import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cvss3BaseScore, ratingOfScore, readOsvAdvisory } from '../../../src/supply-chain/vulns/index.js';

describe('CVSS v3 base scores', () => {
  it('match the scores FIRST and NVD publish for these vectors', () => {
    const published: Array<[string, number]> = [
      ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 9.8],
      ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H', 10.0],
      ['CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N', 6.1],
      ['CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H', 7.2],
      ['CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N', 5.9],
      ['CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H', 7.8],
      ['CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N', 1.6],
      ['CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N', 6.4],
      ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N', 0],
      // Temporal metrics after the base ones do not change the base score.
      ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O', 9.8],
    ];
    for (const [vector, score] of published) expect(cvss3BaseScore(vector), vector).toBe(score);
    expect([9.8, 7.2, 5.9, 1.6, 0].map(ratingOfScore)).toEqual(['critical', 'high', 'medium', 'low', 'low']);
  });

  it('refuses vectors that are not complete CVSS v3 base vectors', () => {
    for (const vector of [
      'AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
      'CVSS:2.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
      'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N',
      'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H',
      'CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
      'CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
    ]) {
      expect(cvss3BaseScore(vector), vector).toBeUndefined();
    }
  });

  it('every complete vector scores within 0-10 with one decimal, and more impact never lowers it', () => {
    const pick = (values: string[]) => fc.constantFrom(...values);
    const vector = fc.record({ AV: pick(['N', 'A', 'L', 'P']), AC: pick(['L', 'H']), PR: pick(['N', 'L', 'H']), UI: pick(['N', 'R']), S: pick(['U', 'C']), C: pick(['N', 'L', 'H']), I: pick(['N', 'L', 'H']), A: pick(['N', 'L', 'H']) });
    const text = (v: Record<string, string>) => `CVSS:3.1/${Object.entries(v).map(([k, x]) => `${k}:${x}`).join('/')}`;
    fc.assert(
      fc.property(vector, (v) => {
        const score = cvss3BaseScore(text(v))!;
        expect(score).toBeGreaterThanOrEqual(0);
        expect(score).toBeLessThanOrEqual(10);
        expect(Math.round(score * 10) / 10).toBe(score);
        if (v.C !== 'H') expect(cvss3BaseScore(text({ ...v, C: 'H' }))!).toBeGreaterThanOrEqual(score);
      }),
    );
  });

  it("an advisory's severity: GitHub's rating first, else the CVSS v3 score, else unknown", () => {
    const affected = [{ package: { ecosystem: 'npm', name: 'x' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }] }];
    const vector = { type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' };
    const severity = (document: object) => {
      const read = readOsvAdvisory({ id: 'X-1', affected, ...document });
      return read.kind === 'advisory' ? read.advisory.severity : read.kind;
    };
    expect(severity({ database_specific: { severity: 'MODERATE' }, severity: [vector] })).toBe('medium');
    expect(severity({ severity: [vector] })).toBe('critical');
    expect(severity({ severity: [{ type: 'CVSS_V4', score: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N' }] })).toBe('unknown');
    expect(severity({})).toBe('unknown');
  });
});
