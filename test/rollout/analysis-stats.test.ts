import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { binomialUpperTail, fisherExactGreater, logFactorial, normalUpperTail, twoProportionTest } from '../../src/rollout/index.js';

/** Counts for two revisions, small enough for Fisher's test or large enough for the z-test. */
const arm = (maxTotal: number) =>
  fc.integer({ min: 0, max: maxTotal }).chain((total) => fc.tuple(fc.integer({ min: 0, max: total }), fc.constant(total)));

describe('the statistics', () => {
  it('matches known values', () => {
    expect(logFactorial(10)).toBeCloseTo(Math.log(3628800), 9);
    // Stirling's series beyond the table agrees with the exact sum.
    let exact = 0;
    for (let k = 2; k <= 30_000; k++) exact += Math.log(k);
    expect(logFactorial(30_000)).toBeCloseTo(exact, 6);
    // Fisher's lady tasting tea: 3 of 4 right in each arm, one-sided p = 17/70.
    expect(fisherExactGreater(1, 4, 3, 4)).toBeCloseTo(17 / 70, 12);
    expect(normalUpperTail(1.959964)).toBeCloseTo(0.025, 6);
    expect(normalUpperTail(-1.644854)).toBeCloseTo(0.95, 6);
    // P(X >= 2) for Binomial(10, 0.1) = 1 - 0.9^10 - 10 * 0.1 * 0.9^9.
    expect(binomialUpperTail(2, 10, 0.1)).toBeCloseTo(1 - 0.9 ** 10 - 0.9 ** 9, 12);
  });

  it('calls a canary answering 20 of 20 with 5xx worse than a stable one at 1 in 400', () => {
    const test = twoProportionTest(1, 400, 20, 20);
    expect(test.method).toBe('fisher_exact');
    expect(test.pOneSided).toBeLessThan(1e-20);
    expect(test.z).toBeGreaterThan(10);
  });

  it('finds nothing in identical proportions, at any size', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 1, max: 400 }), fc.integer({ min: 1, max: 40 }), (failures, total, scale) => {
        const f = Math.min(failures, total);
        const test = twoProportionTest(f, total, f * scale, total * scale);
        expect(test.pOneSided).toBeGreaterThanOrEqual(0.5 - 1e-9);
      }),
    );
  });

  it('gives probabilities in [0, 1] and never calls both revisions worse than each other', () => {
    fc.assert(
      fc.property(arm(3000), arm(3000), ([failuresA, totalA], [failuresB, totalB]) => {
        const forward = twoProportionTest(failuresA, totalA, failuresB, totalB);
        const backward = twoProportionTest(failuresB, totalB, failuresA, totalA);
        for (const test of [forward, backward]) {
          expect(test.pOneSided).toBeGreaterThanOrEqual(0);
          expect(test.pOneSided).toBeLessThanOrEqual(1);
        }
        // Symmetry: swapping the revisions flips the statistic, and the two one-sided tails cover everything.
        expect(forward.z).toBeCloseTo(-backward.z, 9);
        expect(forward.pOneSided + backward.pOneSided).toBeGreaterThanOrEqual(1 - 1e-9);
      }),
    );
  });

  it('never lowers the evidence when B fails more, or A fails less (Fisher and z-test alike)', () => {
    for (const maxTotal of [500, 20_000]) {
      fc.assert(
        fc.property(arm(maxTotal), arm(maxTotal), ([failuresA, totalA], [failuresB, totalB]) => {
          const base = twoProportionTest(failuresA, totalA, failuresB, totalB).pOneSided;
          if (failuresB < totalB) {
            expect(twoProportionTest(failuresA, totalA, failuresB + 1, totalB).pOneSided).toBeLessThanOrEqual(base + 1e-6);
          }
          if (failuresA > 0) {
            expect(twoProportionTest(failuresA - 1, totalA, failuresB, totalB).pOneSided).toBeLessThanOrEqual(base + 1e-6);
          }
        }),
        { numRuns: 200 },
      );
    }
  });

  it('has a binomial tail that falls as the failures grow and rises with the rate', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 0, max: 2000 }), fc.double({ min: 0.001, max: 0.5, noNaN: true }), (k, n, p) => {
        const tail = binomialUpperTail(k, n, p);
        expect(tail).toBeGreaterThanOrEqual(0);
        expect(tail).toBeLessThanOrEqual(1);
        expect(binomialUpperTail(k + 1, n, p)).toBeLessThanOrEqual(tail + 1e-12);
        expect(binomialUpperTail(k, n, Math.min(1, p * 1.5))).toBeGreaterThanOrEqual(tail - 1e-12);
      }),
    );
  });

  it('refuses counts that make no sense', () => {
    expect(() => twoProportionTest(5, 4, 0, 1)).toThrow(/0 <= failures <= total/);
    expect(() => twoProportionTest(0, 1, -1, 4)).toThrow(/whole numbers/);
    expect(twoProportionTest(0, 0, 3, 3)).toMatchObject({ pOneSided: 1, method: 'no_data' });
  });
});
