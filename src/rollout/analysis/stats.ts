/**
 * The statistics that judge a new revision. Pure functions, no clock and no I/O, so they can be
 * property-tested. "Failures" are 5xx answers (or slow requests); "B" is the new revision, "A" the stable one.
 */

/** Up to this many requests in both revisions together, comparisons use Fisher's exact test. */
export const FISHER_MAX_TOTAL = 10_000;

const logFactorials: number[] = [0];

/** ln(n!) from a growing table: exact sums for the sizes Fisher's test sees, Stirling's series beyond. */
export function logFactorial(n: number): number {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`logFactorial needs a whole number >= 0, got ${n}`);
  if (n > 2 * FISHER_MAX_TOTAL) {
    return n * Math.log(n) - n + 0.5 * Math.log(2 * Math.PI * n) + 1 / (12 * n) - 1 / (360 * n ** 3);
  }
  for (let k = logFactorials.length; k <= n; k++) logFactorials.push(logFactorials[k - 1]! + Math.log(k));
  return logFactorials[n]!;
}

function logChoose(n: number, k: number): number {
  return logFactorial(n) - logFactorial(k) - logFactorial(n - k);
}

function clampProbability(p: number): number {
  return Math.min(1, Math.max(0, p));
}

/** Standard normal upper tail P(Z >= z) (Abramowitz-Stegun 7.1.26 via erfc; error below 1.5e-7). */
export function normalUpperTail(z: number): number {
  if (z === 0) return 0.5;
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erfc = poly * Math.exp(-x * x);
  return clampProbability(z >= 0 ? erfc / 2 : 1 - erfc / 2);
}

/**
 * P(X >= k) for X ~ Binomial(n, p): how likely `k` or more failures in `n` trials would be if the true
 * failure rate were exactly `p`. Small means "more failures than a rate of p explains".
 */
export function binomialUpperTail(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  const logP = Math.log(p);
  const logQ = Math.log1p(-p);
  // Sum from the smaller side so that few terms are needed and none underflow meaningfully.
  const mean = n * p;
  if (k > mean) {
    let sum = 0;
    for (let x = k; x <= n; x++) {
      const term = Math.exp(logChoose(n, x) + x * logP + (n - x) * logQ);
      sum += term;
      if (x > mean && term < sum * 1e-17) break;
    }
    return clampProbability(sum);
  }
  let lower = 0;
  for (let x = 0; x < k; x++) lower += Math.exp(logChoose(n, x) + x * logP + (n - x) * logQ);
  return clampProbability(1 - lower);
}

/**
 * Fisher's exact one-sided p-value that B's failure rate is higher than A's: with the margins of the 2x2
 * table fixed, the probability of B having `failuresB` or more of all the failures.
 */
export function fisherExactGreater(failuresA: number, totalA: number, failuresB: number, totalB: number): number {
  const failures = failuresA + failuresB;
  const total = totalA + totalB;
  const highest = Math.min(failures, totalB);
  const logDenominator = logChoose(total, totalB);
  let sum = 0;
  for (let x = failuresB; x <= highest; x++) {
    sum += Math.exp(logChoose(failures, x) + logChoose(total - failures, totalB - x) - logDenominator);
  }
  return clampProbability(sum);
}

export interface ProportionTest {
  /** Failure rates (0..1); 0 with no trials. */
  rateA: number;
  rateB: number;
  /** rateB - rateA. */
  difference: number;
  /** Pooled two-proportion z statistic; positive when B fails more often. 0 when it cannot be computed. */
  z: number;
  /** One-sided p-value for "B fails more often than A"; 1 when there is nothing to compare. */
  pOneSided: number;
  method: 'fisher_exact' | 'z_test' | 'no_data';
}

function checkCounts(failures: number, total: number, which: string): void {
  if (!Number.isInteger(failures) || !Number.isInteger(total) || failures < 0 || total < 0 || failures > total) {
    throw new RangeError(`${which}: failures and total must be whole numbers with 0 <= failures <= total, got ${failures} of ${total}`);
  }
}

/**
 * Is B (the new revision) worse than A (the stable one)? Fisher's exact test up to FISHER_MAX_TOTAL
 * requests, where it is exact even for zero counts; above that the pooled z-test with a continuity
 * correction, whose normal approximation is good at such sizes.
 */
export function twoProportionTest(failuresA: number, totalA: number, failuresB: number, totalB: number): ProportionTest {
  checkCounts(failuresA, totalA, 'A');
  checkCounts(failuresB, totalB, 'B');
  const rateA = totalA === 0 ? 0 : failuresA / totalA;
  const rateB = totalB === 0 ? 0 : failuresB / totalB;
  const difference = rateB - rateA;
  if (totalA === 0 || totalB === 0) return { rateA, rateB, difference, z: 0, pOneSided: 1, method: 'no_data' };

  const pooled = (failuresA + failuresB) / (totalA + totalB);
  const spread = Math.sqrt(pooled * (1 - pooled) * (1 / totalA + 1 / totalB));
  const z = spread === 0 ? 0 : difference / spread;

  if (totalA + totalB <= FISHER_MAX_TOTAL) {
    return { rateA, rateB, difference, z, pOneSided: fisherExactGreater(failuresA, totalA, failuresB, totalB), method: 'fisher_exact' };
  }
  if (spread === 0) return { rateA, rateB, difference, z: 0, pOneSided: 0.5, method: 'z_test' };
  // Yates' correction shrinks the difference towards 0 by half a count on each side.
  const correction = 0.5 * (1 / totalA + 1 / totalB);
  const corrected = Math.sign(difference) * Math.max(0, Math.abs(difference) - correction);
  return { rateA, rateB, difference, z, pOneSided: normalUpperTail(corrected / spread), method: 'z_test' };
}
