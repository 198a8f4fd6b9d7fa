import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LATENCY_BUCKETS_MS, SlidingWindow, bucketIndex, quantileFromBuckets } from '../../src/router/index.js';
import { bucketRange, emptyBuckets } from '../../src/router/metrics-math.js';

const latency = fc.oneof(fc.double({ min: 0, max: 20_000, noNaN: true }), fc.constantFrom(...LATENCY_BUCKETS_MS));

function trueQuantile(samples: number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length))) - 1]!;
}

describe('latency buckets', () => {
  it('puts a value in the first bucket whose bound is at or above it', () => {
    expect(bucketIndex(0)).toBe(0);
    expect(bucketIndex(1)).toBe(0);
    expect(bucketIndex(1.01)).toBe(1);
    expect(bucketIndex(10_000)).toBe(LATENCY_BUCKETS_MS.length - 1);
    expect(bucketIndex(10_000.5)).toBe(LATENCY_BUCKETS_MS.length);
    fc.assert(
      fc.property(latency, (value) => {
        const { lower, upper } = bucketRange(bucketIndex(value));
        expect(value).toBeLessThanOrEqual(upper);
        if (lower > 0) expect(value).toBeGreaterThan(lower);
      }),
    );
  });

  it('estimates every quantile inside the bucket that holds the true quantile', () => {
    fc.assert(
      fc.property(fc.array(latency, { minLength: 1, maxLength: 300 }), fc.double({ min: 0.01, max: 1, noNaN: true }), (samples, q) => {
        const counts = emptyBuckets();
        for (const sample of samples) counts[bucketIndex(sample)]! += 1;
        const estimate = quantileFromBuckets(counts, q)!;
        const { lower, upper } = bucketRange(bucketIndex(trueQuantile(samples, q)));
        expect(estimate).toBeGreaterThanOrEqual(lower);
        expect(estimate).toBeLessThanOrEqual(upper);
      }),
    );
  });

  it('has no quantile without samples', () => {
    expect(quantileFromBuckets(emptyBuckets(), 0.5)).toBeUndefined();
  });
});

describe('SlidingWindow', () => {
  const event = fc.record({
    offsetMs: fc.integer({ min: 0, max: 180_000 }),
    status: fc.constantFrom(200, 201, 302, 404, 500, 503),
    latencyMs: latency,
  });

  it('counts exactly the requests of the last N seconds, their 5xx rate and quantiles', () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 200 }), fc.integer({ min: 1, max: 60 }), (events, windowSeconds) => {
        const start = 1_700_000_000_000;
        const sorted = [...events].sort((a, b) => a.offsetMs - b.offsetMs);
        const window = new SlidingWindow();
        for (const item of sorted) window.record(start + item.offsetMs, item.status, item.latencyMs);
        const now = start + (sorted.at(-1)?.offsetMs ?? 0);
        const nowSecond = Math.floor(now / 1000);
        const inWindow = sorted.filter((item) => Math.floor((start + item.offsetMs) / 1000) > nowSecond - windowSeconds);
        const summary = window.summary(now, windowSeconds * 1000);
        expect(summary.count).toBe(inWindow.length);
        expect(summary.errors5xx).toBe(inWindow.filter((item) => item.status >= 500).length);
        expect(summary.errorRate).toBeCloseTo(inWindow.length === 0 ? 0 : summary.errors5xx / inWindow.length, 12);
        if (inWindow.length === 0) {
          expect(summary.p99).toBeNull();
        } else {
          const latencies = inWindow.map((item) => item.latencyMs);
          for (const [q, estimate] of [[0.5, summary.p50], [0.95, summary.p95], [0.99, summary.p99]] as const) {
            const { lower, upper } = bucketRange(bucketIndex(trueQuantile(latencies, q)));
            expect(estimate).toBeGreaterThanOrEqual(lower);
            expect(estimate).toBeLessThanOrEqual(upper);
          }
        }
      }),
    );
  });

  it('forgets traffic older than its 60 slots', () => {
    const window = new SlidingWindow();
    window.record(0, 500, 3);
    expect(window.summary(59_999, 60_000).count).toBe(1);
    expect(window.summary(60_000, 60_000).count).toBe(0);
    window.record(60_000, 200, 3);
    expect(window.summary(60_000, 60_000)).toMatchObject({ count: 1, errors5xx: 0, errorRate: 0 });
  });
});
