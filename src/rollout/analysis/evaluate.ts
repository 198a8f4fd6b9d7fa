/**
 * Judging a new revision from samples: pure, so every rule is tested with tables and simulations.
 *
 * The checks are looked at every second on growing data, and repeated looks inflate false alarms; so a
 * limit fails a revision only when the data is significantly past it at p < 0.001 (a binomial test against
 * the limit, or Fisher's test against the stable revision), not merely when the point estimate is. Such
 * evidence fails a revision even before min_requests: a canary answering 100% 5xx is caught after a handful
 * of requests, while a healthy one at 0.5% waits for enough traffic to pass (simulated: about 0.6% of
 * 5-minute healthy runs at 20 req/s ever see a false fail).
 */
import { parseDuration } from '../../common/index.js';
import { parsePercent } from '../../manifest/index.js';
import { LATENCY_BUCKETS_MS, quantileFromBuckets } from '../../router/index.js';
import { formatMs, formatNumber, formatP, formatRate } from './format.js';
import { binomialUpperTail, twoProportionTest, type ProportionTest } from './stats.js';
import type { AnalysisCheck, CheckResult, Outcome, PromProblem, PromResult, RevisionSample, Verdict } from './types.js';

export interface EvaluationInput {
  checks: AnalysisCheck[];
  /** Requests the target must have served before anything but overwhelming evidence can fail it. */
  minRequests: number;
  target: RevisionSample;
  /** The revision being replaced, compared against for error rates. */
  stable?: RevisionSample;
  /** Answers to the checks' PromQL queries, by query text. */
  prometheus?: Record<string, PromResult>;
  /** How unlikely the data must be for a revision that meets the limit before it fails; default 0.001. */
  alpha?: number;
}

export const DEFAULT_ALPHA = 0.001;

const QUANTILES = { latency_p50: 0.5, latency_p95: 0.95, latency_p99: 0.99 } as const;
type LatencyMetric = keyof typeof QUANTILES;
type MetricCheck = Extract<AnalysisCheck, { metric: string }>;
type PrometheusCheck = Extract<AnalysisCheck, { prometheus: string }>;

interface Thresholds {
  minRequests: number;
  alpha: number;
}

export function checkName(check: AnalysisCheck): string {
  if ('prometheus' in check) return `prometheus(${check.prometheus}) <= ${check.max}`;
  return `${check.metric} <= ${check.max}`;
}

function requestsText(count: number): string {
  return `${count} request${count === 1 ? '' : 's'}`;
}

function tooFew(target: RevisionSample, minRequests: number): string {
  return `${requestsText(target.requests)} on ${target.revision} so far, ${minRequests} needed`;
}

/** Why a share check could not decide: too few requests, or over its limit by less than noise explains. */
function whyInconclusive(target: RevisionSample, thresholds: Thresholds): string {
  return target.requests < thresholds.minRequests ? tooFew(target, thresholds.minRequests) : 'above the limit, but not yet beyond noise';
}

/**
 * Shared rule for "a share of requests must stay under a limit" (5xx, or slower than a latency limit):
 * significantly over -> fail, however few requests; under -> pass once there are min_requests; otherwise inconclusive.
 */
function judgeShare(input: { over: boolean; pValue: number; requests: number }, thresholds: Thresholds): Outcome {
  if (input.requests === 0) return 'inconclusive';
  if (input.over && input.pValue < thresholds.alpha) return 'fail';
  if (input.requests < thresholds.minRequests) return 'inconclusive';
  return input.over ? 'inconclusive' : 'pass';
}

function errorRateCheck(
  check: MetricCheck,
  target: RevisionSample,
  stable: RevisionSample | undefined,
  thresholds: Thresholds,
): CheckResult {
  const name = checkName(check);
  const limit = typeof check.max === 'string' ? parsePercent(check.max) : undefined;
  if (limit === undefined) throw new RangeError(`error_rate wants a percentage limit like 1%, got ${String(check.max)}`);
  if (target.requests === 0) {
    return { check, name, outcome: 'inconclusive', reason: `no requests on ${target.revision} yet`, value: null };
  }
  const rate = target.errors5xx / target.requests;
  const pAgainstLimit = binomialUpperTail(target.errors5xx, target.requests, limit);
  const comparison =
    stable && stable.requests > 0 ? twoProportionTest(stable.errors5xx, stable.requests, target.errors5xx, target.requests) : undefined;
  const over = rate > limit;
  // Either test may carry the evidence: against the stable revision when it is clean, against the limit otherwise.
  const pValue = Math.min(pAgainstLimit, comparison?.pOneSided ?? 1);
  const outcome = judgeShare({ over, pValue, requests: target.requests }, thresholds);

  let text = `error rate ${formatRate(rate)} (${target.errors5xx} of ${requestsText(target.requests)}) on ${target.revision}`;
  if (stable && comparison) text += ` against ${formatRate(comparison.rateA)} on ${stable.revision}`;
  if (over) text += `, ${formatP(pValue)}`;
  text += `; limit ${check.max}`;
  if (outcome === 'inconclusive') text += ` (${whyInconclusive(target, thresholds)})`;
  return {
    check,
    name,
    outcome,
    reason: text,
    value: rate,
    figures: {
      errors5xx: target.errors5xx,
      requests: target.requests,
      errorRate: rate,
      limit,
      pAgainstLimit,
      ...(comparison ? { comparison: comparisonFigures(comparison, stable!) } : {}),
    },
  };
}

function comparisonFigures(test: ProportionTest, stable: RevisionSample): Record<string, unknown> {
  return {
    stableRevision: stable.revision,
    stableErrors5xx: stable.errors5xx,
    stableRequests: stable.requests,
    stableErrorRate: test.rateA,
    z: test.z,
    pOneSided: test.pOneSided,
    method: test.method,
  };
}

/** Requests above `limitMs`, spreading each bucket's count evenly over its range as the quantile estimate does. */
function countAbove(counts: readonly number[], limitMs: number): number {
  let above = 0;
  counts.forEach((count, index) => {
    const lower = index === 0 ? 0 : LATENCY_BUCKETS_MS[index - 1]!;
    const upper = index < LATENCY_BUCKETS_MS.length ? LATENCY_BUCKETS_MS[index]! : Number.POSITIVE_INFINITY;
    if (lower >= limitMs) above += count;
    else if (upper > limitMs) above += Number.isFinite(upper) ? (count * (upper - limitMs)) / (upper - lower) : count;
  });
  return Math.floor(above + 1e-9);
}

function quantileOf(sample: RevisionSample, metric: LatencyMetric): number | null {
  if (sample.latencyCounts) return quantileFromBuckets(sample.latencyCounts, QUANTILES[metric]) ?? null;
  const key = metric.slice('latency_'.length) as 'p50' | 'p95' | 'p99';
  return sample.quantiles?.[key] ?? null;
}

function latencyCheck(
  check: MetricCheck & { metric: LatencyMetric },
  target: RevisionSample,
  stable: RevisionSample | undefined,
  thresholds: Thresholds,
): CheckResult {
  const name = checkName(check);
  const limitMs = typeof check.max === 'string' ? parseDuration(check.max) : undefined;
  if (limitMs === undefined) throw new RangeError(`${check.metric} wants a duration limit like 500ms, got ${String(check.max)}`);
  const label = check.metric.slice('latency_'.length);
  const value = quantileOf(target, check.metric);
  const stableValue = stable ? quantileOf(stable, check.metric) : null;
  if (value === null || target.requests === 0) {
    return { check, name, outcome: 'inconclusive', reason: `no latency figures for ${target.revision} yet`, value: null };
  }
  const q = QUANTILES[check.metric];
  let outcome: Outcome;
  let pValue: number | undefined;
  let slow: number | undefined;
  if (target.latencyCounts) {
    // The q-quantile is over the limit when more than (1 - q) of the requests are: a binomial question.
    const counted = target.latencyCounts.reduce((sum, count) => sum + count, 0);
    slow = countAbove(target.latencyCounts, limitMs);
    pValue = binomialUpperTail(slow, counted, 1 - q);
    outcome = judgeShare({ over: value > limitMs, pValue, requests: counted }, thresholds);
  } else if (target.requests < thresholds.minRequests) {
    outcome = 'inconclusive';
  } else {
    outcome = value > limitMs ? 'fail' : 'pass';
  }
  let text = `${label} latency ${formatMs(value)} on ${target.revision}`;
  if (stable && stableValue !== null) text += ` against ${formatMs(stableValue)} on ${stable.revision}`;
  if (slow !== undefined && value > limitMs) text += `, ${slow} of ${requestsText(target.requests)} slower than ${check.max}, ${formatP(pValue!)}`;
  text += `; limit ${check.max}`;
  if (outcome === 'inconclusive') text += ` (${whyInconclusive(target, thresholds)})`;
  return {
    check,
    name,
    outcome,
    reason: text,
    value,
    figures: {
      quantile: q,
      valueMs: value,
      limitMs,
      requests: target.requests,
      ...(slow !== undefined ? { slowerThanLimit: slow, pAgainstLimit: pValue } : {}),
      ...(stable ? { stableRevision: stable.revision, stableValueMs: stableValue } : {}),
    },
  };
}

function requestRateCheck(check: MetricCheck, target: RevisionSample, thresholds: Thresholds): CheckResult {
  const name = checkName(check);
  const max = Number(check.max);
  if (!target.durationMs || target.durationMs <= 0) {
    return { check, name, outcome: 'inconclusive', reason: `no time window for ${target.revision}'s request rate yet`, value: null };
  }
  const rate = target.requests / (target.durationMs / 1000);
  const over = rate > max;
  const outcome: Outcome = !over ? 'pass' : target.requests >= thresholds.minRequests ? 'fail' : 'inconclusive';
  let text = `request rate ${formatNumber(rate)}/s (${requestsText(target.requests)} in ${formatMs(target.durationMs)}) on ${target.revision}; limit ${max}/s`;
  if (outcome === 'inconclusive') text += ` (${tooFew(target, thresholds.minRequests)})`;
  return { check, name, outcome, reason: text, value: rate, figures: { requestsPerSecond: rate, requests: target.requests, durationMs: target.durationMs, limit: max } };
}

/**
 * Problems of the source itself (down, erroring, refusing the query, answering nonsense). The others (no
 * series yet, NaN from no traffic, several series) are the data's: inconclusive for want of a number.
 */
const PROVIDER_PROBLEMS: ReadonlySet<PromProblem> = new Set<PromProblem>(['unreachable', 'http_error', 'query_error', 'bad_response']);

function prometheusCheck(check: PrometheusCheck, answers: Record<string, PromResult> | undefined): CheckResult {
  const name = checkName(check);
  const answer = answers?.[check.prometheus];
  if (!answer) {
    return { check, name, outcome: 'inconclusive', providerError: true, reason: `PromQL ${JSON.stringify(check.prometheus)} has no answer (no Prometheus configured, or it was not queried)`, value: null };
  }
  if (!answer.ok) {
    const providerError = PROVIDER_PROBLEMS.has(answer.problem);
    return {
      check,
      name,
      outcome: 'inconclusive',
      ...(providerError ? { providerError } : {}),
      reason: `PromQL ${JSON.stringify(check.prometheus)}: ${answer.reason}`,
      value: null,
      figures: { problem: answer.problem },
    };
  }
  const outcome: Outcome = answer.value > check.max ? 'fail' : 'pass';
  return {
    check,
    name,
    outcome,
    reason: `PromQL ${JSON.stringify(check.prometheus)} = ${formatNumber(answer.value)}; limit ${check.max}`,
    value: answer.value,
    figures: { value: answer.value, limit: check.max, ...(answer.labels ? { labels: answer.labels } : {}) },
  };
}

function evaluateCheck(check: AnalysisCheck, input: EvaluationInput, thresholds: Thresholds): CheckResult {
  if ('prometheus' in check) return prometheusCheck(check, input.prometheus);
  switch (check.metric) {
    case 'error_rate':
      return errorRateCheck(check, input.target, input.stable, thresholds);
    case 'request_rate':
      return requestRateCheck(check, input.target, thresholds);
    default:
      return latencyCheck(check as MetricCheck & { metric: LatencyMetric }, input.target, input.stable, thresholds);
  }
}

export function sampleFigures(sample: RevisionSample): Record<string, unknown> {
  const quantile = (q: number): number | null => (sample.latencyCounts ? (quantileFromBuckets(sample.latencyCounts, q) ?? null) : null);
  return {
    revision: sample.revision,
    requests: sample.requests,
    errors5xx: sample.errors5xx,
    errorRate: sample.requests === 0 ? null : sample.errors5xx / sample.requests,
    p50: sample.quantiles?.p50 ?? quantile(0.5),
    p95: sample.quantiles?.p95 ?? quantile(0.95),
    p99: sample.quantiles?.p99 ?? quantile(0.99),
    ...(sample.durationMs !== undefined ? { durationMs: sample.durationMs } : {}),
  };
}

/** Combine check outcomes: any fail fails; otherwise any inconclusive is inconclusive; otherwise pass. */
export function combineOutcomes(outcomes: Outcome[]): Outcome {
  if (outcomes.includes('fail')) return 'fail';
  if (outcomes.includes('inconclusive')) return 'inconclusive';
  return 'pass';
}

/** Judge the target revision against every check. */
export function evaluateChecks(input: EvaluationInput): Verdict {
  const thresholds: Thresholds = {
    minRequests: input.minRequests,
    alpha: input.alpha ?? DEFAULT_ALPHA,
  };
  const checks = input.checks.map((check) => evaluateCheck(check, input, thresholds));
  const outcome = checks.length === 0 ? 'inconclusive' : combineOutcomes(checks.map((check) => check.outcome));
  const deciding = checks.filter((check) => check.outcome === outcome);
  const reason =
    checks.length === 0
      ? 'no checks to evaluate'
      : outcome === 'pass'
        ? `all ${checks.length} check${checks.length === 1 ? '' : 's'} pass: ${deciding.map((check) => check.reason).join('; ')}`
        : deciding.map((check) => check.reason).join('; ');
  const prometheus = Object.fromEntries(
    Object.entries(input.prometheus ?? {}).map(([query, answer]) => [query, answer.ok ? answer.value : { problem: answer.problem }]),
  );
  const figures: Record<string, unknown> = {
    target: sampleFigures(input.target),
    ...(input.stable ? { stable: sampleFigures(input.stable) } : {}),
    ...(input.stable && input.stable.requests > 0 && input.target.requests > 0
      ? { comparison: twoProportionTest(input.stable.errors5xx, input.stable.requests, input.target.errors5xx, input.target.requests) }
      : {}),
    ...(Object.keys(prometheus).length > 0 ? { prometheus } : {}),
    minRequests: input.minRequests,
  };
  // Only when the source is the whole reason: a check that also lacks data is inconclusive for that, on its own budget.
  const providerError = outcome === 'inconclusive' && checks.every((check) => check.outcome !== 'inconclusive' || check.providerError === true);
  return { outcome, reason, figures, checks, ...(providerError ? { providerError } : {}) };
}
