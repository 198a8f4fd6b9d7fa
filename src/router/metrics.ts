import { LATENCY_BUCKETS_MS, SlidingWindow, bucketIndex, cumulative, emptyBuckets, type WindowSummary } from './metrics-math.js';

/** Who a measurement belongs to: a revision of a service in an environment of a project. */
export interface RevisionLabels {
  project: string;
  service: string;
  environment: string;
  revision: string;
}

export type StatusClass = '2xx' | '3xx' | '4xx' | '5xx';

export function statusClass(status: number): StatusClass {
  if (status >= 500) return '5xx';
  if (status >= 400) return '4xx';
  if (status >= 300) return '3xx';
  // 1xx answers end up as 2xx: only WebSocket switches produce them, and those are counted apart.
  return '2xx';
}

/** Everything the router knows about one revision's traffic. */
export interface RevisionStats extends RevisionLabels {
  requests: number;
  byClass: Record<StatusClass, number>;
  byStatus: Record<string, number>;
  inFlight: number;
  websocketsTotal: number;
  websocketsOpen: number;
  latency: { bucketsMs: number[]; cumulative: number[]; sumMs: number; count: number };
  window: WindowSummary;
}

class RevisionMetrics {
  requests = 0;
  readonly byClass: Record<StatusClass, number> = { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 };
  readonly byStatus = new Map<number, number>();
  inFlight = 0;
  websocketsTotal = 0;
  websocketsOpen = 0;
  readonly buckets = emptyBuckets();
  sumMs = 0;
  readonly window = new SlidingWindow();
  lastActivityMs = 0;

  constructor(readonly labels: RevisionLabels) {}
}

/** Requests that reached no revision: unknown host, or a service with nothing healthy behind it. */
export type UnroutedReason = 'no_route' | 'unavailable';

/**
 * Per-revision counters, histograms and sliding windows. In memory only: a restarted router starts
 * counting afresh, which Prometheus handles as a counter reset.
 */
export class RouterMetrics {
  private readonly revisions = new Map<string, RevisionMetrics>();
  readonly unrouted: Record<UnroutedReason, number> = { no_route: 0, unavailable: 0 };

  constructor(private readonly clock: () => number = Date.now) {}

  private entry(labels: RevisionLabels): RevisionMetrics {
    const key = `${labels.project}\u0000${labels.service}\u0000${labels.environment}\u0000${labels.revision}`;
    let metrics = this.revisions.get(key);
    if (!metrics) {
      metrics = new RevisionMetrics({ ...labels });
      this.revisions.set(key, metrics);
    }
    return metrics;
  }

  /** A request was sent to a revision; call the returned function exactly once when it is answered. */
  begin(labels: RevisionLabels): (status: number, latencyMs: number) => void {
    const metrics = this.entry(labels);
    metrics.inFlight += 1;
    metrics.lastActivityMs = this.clock();
    let done = false;
    return (status, latencyMs) => {
      if (done) return;
      done = true;
      const now = this.clock();
      metrics.inFlight -= 1;
      metrics.lastActivityMs = now;
      metrics.requests += 1;
      metrics.byClass[statusClass(status)] += 1;
      metrics.byStatus.set(status, (metrics.byStatus.get(status) ?? 0) + 1);
      metrics.buckets[bucketIndex(latencyMs)]! += 1;
      metrics.sumMs += latencyMs;
      metrics.window.record(now, status, latencyMs);
    };
  }

  /** A WebSocket was switched through to a revision; call the returned function when it closes. */
  websocketOpened(labels: RevisionLabels): () => void {
    const metrics = this.entry(labels);
    metrics.websocketsTotal += 1;
    metrics.websocketsOpen += 1;
    metrics.lastActivityMs = this.clock();
    let closed = false;
    return () => {
      if (closed) return;
      closed = true;
      metrics.websocketsOpen -= 1;
      metrics.lastActivityMs = this.clock();
    };
  }

  countUnrouted(reason: UnroutedReason): void {
    this.unrouted[reason] += 1;
  }

  /** In-flight HTTP requests per revision id (summed over routes), what the control plane waits on to drain. */
  inFlightByRevision(): Record<string, number> {
    const result: Record<string, number> = {};
    for (const metrics of this.revisions.values()) {
      result[metrics.labels.revision] = (result[metrics.labels.revision] ?? 0) + metrics.inFlight;
    }
    return result;
  }

  /** Open WebSockets per revision id (summed over routes), what a retired revision's drain waits on after its requests. */
  websocketsByRevision(): Record<string, number> {
    const result: Record<string, number> = {};
    for (const metrics of this.revisions.values()) {
      result[metrics.labels.revision] = (result[metrics.labels.revision] ?? 0) + metrics.websocketsOpen;
    }
    return result;
  }

  totalInFlight(): number {
    let total = 0;
    for (const metrics of this.revisions.values()) total += metrics.inFlight;
    return total;
  }

  /**
   * Drop revisions that no table routes to any more, have nothing in flight and have been quiet for
   * `idleMs`, so months of deploys don't grow memory without bound.
   */
  prune(activeRevisions: Set<string>, idleMs: number): void {
    const now = this.clock();
    for (const [key, metrics] of this.revisions) {
      if (activeRevisions.has(metrics.labels.revision)) continue;
      if (metrics.inFlight > 0 || metrics.websocketsOpen > 0) continue;
      if (now - metrics.lastActivityMs >= idleMs) this.revisions.delete(key);
    }
  }

  snapshot(windowMs: number): RevisionStats[] {
    const now = this.clock();
    return [...this.revisions.values()].map((metrics) => ({
      ...metrics.labels,
      requests: metrics.requests,
      byClass: { ...metrics.byClass },
      byStatus: Object.fromEntries([...metrics.byStatus].map(([status, count]) => [String(status), count])),
      inFlight: metrics.inFlight,
      websocketsTotal: metrics.websocketsTotal,
      websocketsOpen: metrics.websocketsOpen,
      latency: {
        bucketsMs: [...LATENCY_BUCKETS_MS],
        cumulative: cumulative(metrics.buckets),
        sumMs: metrics.sumMs,
        count: metrics.requests,
      },
      window: metrics.window.summary(now, windowMs),
    }));
  }
}
