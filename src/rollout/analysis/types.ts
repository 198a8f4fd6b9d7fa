import type { AnalysisCheck } from '../../manifest/index.js';

export type { AnalysisCheck };

/** A check, a verdict or a whole analysis passes, fails, or cannot tell yet. Inconclusive is never success. */
export type Outcome = 'pass' | 'fail' | 'inconclusive';

/** What one revision did over the evaluation window (for the router source: since the analysis began). */
export interface RevisionSample {
  revision: string;
  requests: number;
  errors5xx: number;
  /** Requests per latency bucket (not cumulative): the router's LATENCY_BUCKETS_MS, then +Inf. */
  latencyCounts?: number[];
  /** Latency quantiles in ms, for sources that give no buckets; null when unknown. */
  quantiles?: { p50?: number | null; p95?: number | null; p99?: number | null };
  /** How long the window is, for request_rate. */
  durationMs?: number;
}

/** Why a PromQL query gave no usable number. */
export type PromProblem = 'unreachable' | 'http_error' | 'query_error' | 'empty' | 'multiple_series' | 'not_a_number' | 'bad_response';

/** A PromQL answer: one number, or a typed problem (never thrown). */
export type PromResult =
  | { ok: true; value: number; labels?: Record<string, string> }
  | { ok: false; problem: PromProblem; reason: string };

export interface CheckResult {
  check: AnalysisCheck;
  /** e.g. `error_rate <= 1%`. */
  name: string;
  outcome: Outcome;
  reason: string;
  /** The measured value in the check's unit (a 0..1 rate, ms, req/s or the query's number); null without data. */
  value: number | null;
  /** True when the check could not be judged because a metric source failed, not for lack of traffic. */
  providerError?: boolean;
  figures?: Record<string, unknown>;
}

/** The judgement of one evaluation, with the figures that decided it. */
export interface Verdict {
  outcome: Outcome;
  reason: string;
  figures: Record<string, unknown>;
  checks: CheckResult[];
  /** True when an inconclusive outcome comes only from failing metric sources (every inconclusive check is a provider error). */
  providerError?: boolean;
}
