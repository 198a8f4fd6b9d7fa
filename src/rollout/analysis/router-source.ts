/**
 * Samples from the router's own figures. The router keeps CUMULATIVE counters per revision; this source
 * snapshots them when the analysis starts and turns every later poll into totals since then, so verdicts
 * rest on exactly the requests since the canary began rather than on a lagging 60-second window.
 */
import { LATENCY_BUCKETS_MS, type RevisionStats, type RouterClient } from '../../router/index.js';
import type { RevisionSample } from './types.js';

/** The parts of a revision's counters this source follows. */
interface Counters {
  requests: number;
  errors5xx: number;
  /** Cumulative per latency bucket, as the router reports it (the last one is +Inf). */
  cumulative: number[];
}

interface Tracked {
  /** What the router's counters read when counting began (at start, or zero after a router restart). */
  baseline: Counters;
  /** The last reading, to notice counters going backwards. */
  last: Counters;
  /** Totals counted before the router's latest restart. */
  carried: Counters;
}

export interface RouterSourceOptions {
  router: RouterClient;
  /** Only count revisions of this route (a revision id is normally unique anyway). */
  labels?: { project?: string; service?: string; environment?: string };
  now?: () => number;
}

function zero(buckets: number): Counters {
  return { requests: 0, errors5xx: 0, cumulative: new Array<number>(buckets).fill(0) };
}

function add(a: Counters, b: Counters, sign = 1): Counters {
  const length = Math.max(a.cumulative.length, b.cumulative.length);
  return {
    requests: a.requests + sign * b.requests,
    errors5xx: a.errors5xx + sign * b.errors5xx,
    cumulative: Array.from({ length }, (_, index) => (a.cumulative[index] ?? 0) + sign * (b.cumulative[index] ?? 0)),
  };
}

/** A restarted router counts afresh: any counter lower than before means the old counts are gone. */
function wentBackwards(now: Counters, before: Counters): boolean {
  if (now.requests < before.requests || now.errors5xx < before.errors5xx) return true;
  return now.cumulative.some((value, index) => value < (before.cumulative[index] ?? 0));
}

/** Per-bucket counts from cumulative ones. */
export function countsFromCumulative(cumulative: readonly number[]): number[] {
  return cumulative.map((value, index) => Math.max(0, value - (index === 0 ? 0 : cumulative[index - 1]!)));
}

export class RouterMetricsSource {
  private readonly tracked = new Map<string, Tracked>();
  private startedAt: number | undefined;
  private readonly now: () => number;
  private bucketCount = LATENCY_BUCKETS_MS.length + 1;

  constructor(private readonly options: RouterSourceOptions) {
    this.now = options.now ?? Date.now;
  }

  get started(): boolean {
    return this.startedAt !== undefined;
  }

  /** Snapshot the counters as they stand: everything counted from here on belongs to the analysis. */
  async start(): Promise<void> {
    const readings = await this.read();
    this.tracked.clear();
    for (const [revision, counters] of readings) {
      this.tracked.set(revision, { baseline: counters, last: counters, carried: zero(counters.cumulative.length) });
    }
    this.startedAt = this.now();
  }

  /** Totals since start() for each of `revisions` (zero for a revision the router has not seen yet). */
  async sample(revisions: string[]): Promise<Record<string, RevisionSample>> {
    if (this.startedAt === undefined) throw new Error('RouterMetricsSource.sample() before start()');
    const readings = await this.read();
    for (const [revision, reading] of readings) {
      const tracked = this.tracked.get(revision);
      if (!tracked) {
        // First seen after the start: all of its requests came during the analysis.
        this.tracked.set(revision, { baseline: zero(reading.cumulative.length), last: reading, carried: zero(reading.cumulative.length) });
        continue;
      }
      if (wentBackwards(reading, tracked.last)) {
        tracked.carried = add(tracked.carried, add(tracked.last, tracked.baseline, -1));
        tracked.baseline = zero(reading.cumulative.length);
      }
      tracked.last = reading;
    }
    // A revision missing from this reading (pruned, or a router just restarted) keeps its last totals.
    const durationMs = this.now() - this.startedAt;
    const result: Record<string, RevisionSample> = {};
    for (const revision of revisions) {
      const tracked = this.tracked.get(revision);
      const totals = tracked ? add(tracked.carried, add(tracked.last, tracked.baseline, -1)) : zero(this.bucketCount);
      result[revision] = {
        revision,
        requests: totals.requests,
        errors5xx: totals.errors5xx,
        latencyCounts: countsFromCumulative(totals.cumulative),
        durationMs,
      };
    }
    return result;
  }

  private async read(): Promise<Map<string, Counters>> {
    const stats = await this.options.router.stats();
    const readings = new Map<string, Counters>();
    for (const revision of stats.revisions) {
      if (!this.matches(revision)) continue;
      // The +Inf bucket is the total count; the router reports it apart from the bounded buckets.
      const counters: Counters = {
        requests: revision.requests,
        errors5xx: revision.byClass['5xx'],
        cumulative: [...revision.latency.cumulative.slice(0, revision.latency.bucketsMs.length), revision.latency.count],
      };
      this.bucketCount = counters.cumulative.length;
      const previous = readings.get(revision.revision);
      // The same revision behind several routes: add them up.
      readings.set(revision.revision, previous ? add(previous, counters) : counters);
    }
    return readings;
  }

  private matches(stats: RevisionStats): boolean {
    const labels = this.options.labels;
    if (!labels) return true;
    return (
      (labels.project === undefined || labels.project === stats.project) &&
      (labels.service === undefined || labels.service === stats.service) &&
      (labels.environment === undefined || labels.environment === stats.environment)
    );
  }
}
