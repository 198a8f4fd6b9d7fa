/**
 * Latency histograms and the sliding window behind canary analysis. No clock and no I/O here: every
 * function takes the time it needs, so the maths can be property-tested.
 */

/** Upper bounds of the latency buckets, in milliseconds; a last, implicit bucket holds the rest (+Inf). */
export const LATENCY_BUCKETS_MS: readonly number[] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

/** Number of buckets including the +Inf one. */
export const BUCKET_COUNT = LATENCY_BUCKETS_MS.length + 1;

/** Index of the bucket a latency falls in: the first whose upper bound is >= the value (Prometheus `le`). */
export function bucketIndex(latencyMs: number): number {
  for (let index = 0; index < LATENCY_BUCKETS_MS.length; index++) {
    if (latencyMs <= LATENCY_BUCKETS_MS[index]!) return index;
  }
  return LATENCY_BUCKETS_MS.length;
}

/** The closed interval a bucket covers: [previous bound, its bound]; the first starts at 0, the last ends at +Inf. */
export function bucketRange(index: number): { lower: number; upper: number } {
  const lower = index === 0 ? 0 : LATENCY_BUCKETS_MS[index - 1]!;
  const upper = index < LATENCY_BUCKETS_MS.length ? LATENCY_BUCKETS_MS[index]! : Number.POSITIVE_INFINITY;
  return { lower, upper };
}

export function emptyBuckets(): number[] {
  return new Array<number>(BUCKET_COUNT).fill(0);
}

/** Running totals per bucket, as Prometheus `_bucket{le=...}` expects. */
export function cumulative(counts: readonly number[]): number[] {
  let running = 0;
  return counts.map((count) => (running += count));
}

/**
 * Estimate the q-quantile (0 < q <= 1) from per-bucket counts: find the bucket holding the sample of rank
 * ceil(q * n), then interpolate linearly inside it, like Prometheus' histogram_quantile. The estimate always
 * lies inside the bucket that holds the true (nearest-rank) quantile; for the +Inf bucket it is that
 * bucket's lower bound, since there is nothing to interpolate towards. Undefined with no samples.
 */
export function quantileFromBuckets(counts: readonly number[], q: number): number | undefined {
  const total = counts.reduce((sum, count) => sum + count, 0);
  if (total === 0) return undefined;
  const rank = Math.min(total, Math.max(1, Math.ceil(q * total)));
  let before = 0;
  for (let index = 0; index < counts.length; index++) {
    const count = counts[index]!;
    if (count > 0 && before + count >= rank) {
      const { lower, upper } = bucketRange(index);
      if (!Number.isFinite(upper)) return lower;
      return lower + ((upper - lower) * (rank - before)) / count;
    }
    before += count;
  }
  return bucketRange(counts.length - 1).lower;
}

/** What one second (or a whole window) of traffic to a revision looked like. */
export interface WindowSlot {
  /** Whole second since the epoch this slot holds, or -1 when unused. */
  second: number;
  count: number;
  errors5xx: number;
  buckets: number[];
}

export interface WindowSummary {
  windowMs: number;
  count: number;
  errors5xx: number;
  /** 5xx answers / all answers in the window; 0 when there were none. */
  errorRate: number;
  requestsPerSecond: number;
  /** Latency quantiles in ms, estimated from the buckets; null with no traffic. */
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export const WINDOW_SECONDS = 60;

/**
 * The last 60 seconds of a revision's traffic in 1-second slots (a ring indexed by second). Recording and
 * summarising are O(slots); an old slot is reset the moment its index is reused for a newer second.
 */
export class SlidingWindow {
  private readonly slots: WindowSlot[];

  constructor(readonly seconds: number = WINDOW_SECONDS) {
    this.slots = Array.from({ length: seconds }, () => ({ second: -1, count: 0, errors5xx: 0, buckets: emptyBuckets() }));
  }

  record(nowMs: number, status: number, latencyMs: number): void {
    const second = Math.floor(nowMs / 1000);
    const slot = this.slots[second % this.seconds]!;
    if (slot.second !== second) {
      // Only move forward: a late record for a second that has already been reused is dropped.
      if (slot.second > second) return;
      slot.second = second;
      slot.count = 0;
      slot.errors5xx = 0;
      slot.buckets.fill(0);
    }
    slot.count += 1;
    if (status >= 500) slot.errors5xx += 1;
    slot.buckets[bucketIndex(latencyMs)]! += 1;
  }

  /** Traffic in the last `windowMs` (rounded up to whole seconds, at most the ring's size), current second included. */
  summary(nowMs: number, windowMs: number): WindowSummary {
    const windowSeconds = Math.min(this.seconds, Math.max(1, Math.ceil(windowMs / 1000)));
    const nowSecond = Math.floor(nowMs / 1000);
    const oldest = nowSecond - windowSeconds + 1;
    const buckets = emptyBuckets();
    let count = 0;
    let errors5xx = 0;
    for (const slot of this.slots) {
      if (slot.second < oldest || slot.second > nowSecond) continue;
      count += slot.count;
      errors5xx += slot.errors5xx;
      for (let index = 0; index < buckets.length; index++) buckets[index]! += slot.buckets[index]!;
    }
    const quantile = (q: number): number | null => quantileFromBuckets(buckets, q) ?? null;
    return {
      windowMs: windowSeconds * 1000,
      count,
      errors5xx,
      errorRate: count === 0 ? 0 : errors5xx / count,
      requestsPerSecond: count / windowSeconds,
      p50: quantile(0.5),
      p95: quantile(0.95),
      p99: quantile(0.99),
    };
  }
}
