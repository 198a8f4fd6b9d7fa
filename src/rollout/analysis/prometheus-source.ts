/**
 * PromQL instant queries against any Prometheus-compatible API (Prometheus, VictoriaMetrics, Thanos...).
 * Every problem comes back as a typed result, never thrown: the analysis turns it into an inconclusive
 * check whose reason names what went wrong.
 */
import { request } from 'undici';
import { errorMessage } from '../../common/index.js';
import type { PromProblem, PromResult } from './types.js';

export interface PrometheusQueryOptions {
  /** Default 5 s. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Sent as `Authorization` (e.g. `Bearer ...`); never logged nor echoed in reasons. */
  authorization?: string;
}

interface ApiAnswer {
  status?: string;
  errorType?: string;
  error?: string;
  data?: { resultType?: string; result?: unknown };
}

type Sample = [number, string];

function problem(kind: PromProblem, reason: string): PromResult {
  return { ok: false, problem: kind, reason };
}

/** The address without credentials or query, safe to show. */
function describeBase(baseUrl: URL): string {
  return `${baseUrl.origin}${baseUrl.pathname.replace(/\/$/, '')}`;
}

function parseSampleValue(sample: unknown, labels?: Record<string, string>): PromResult {
  if (!Array.isArray(sample) || sample.length !== 2 || typeof sample[1] !== 'string') {
    return problem('bad_response', 'the answer holds a sample that is not [time, "value"]');
  }
  const value = Number((sample as Sample)[1]);
  if (Number.isNaN(value)) {
    return problem('not_a_number', 'the query returned NaN (often a division by zero when there is no traffic)');
  }
  return labels ? { ok: true, value, labels } : { ok: true, value };
}

/** Turn a decoded `/api/v1/query` answer into one number or a typed problem. */
export function interpretPrometheusAnswer(answer: ApiAnswer): PromResult {
  if (answer.status === 'error') {
    return problem('query_error', `the query was refused: ${answer.errorType ? `${answer.errorType}: ` : ''}${answer.error ?? 'no detail given'}`);
  }
  if (answer.status !== 'success' || !answer.data) return problem('bad_response', 'the answer is not a Prometheus query API answer');
  const { resultType, result } = answer.data;
  switch (resultType) {
    case 'scalar':
      return parseSampleValue(result);
    case 'vector': {
      if (!Array.isArray(result)) return problem('bad_response', 'the vector answer has no result list');
      if (result.length === 0) return problem('empty', 'the query returned no series (no data yet, or labels that match nothing)');
      if (result.length > 1) {
        return problem('multiple_series', `the query returned ${result.length} series; aggregate it to one number, e.g. with sum(...)`);
      }
      const series = result[0] as { metric?: Record<string, string>; value?: unknown };
      return parseSampleValue(series.value, series.metric && Object.keys(series.metric).length > 0 ? series.metric : undefined);
    }
    case 'matrix':
      return problem('multiple_series', 'the query returned a range vector; reduce it to one number, e.g. with rate(...[1m]) inside sum(...)');
    default:
      return problem('bad_response', `the query returned a ${String(resultType)}, not a number`);
  }
}

/** Run one instant query: `GET <baseUrl>/api/v1/query?query=...`. */
export async function queryPrometheus(baseUrl: string, query: string, options: PrometheusQueryOptions = {}): Promise<PromResult> {
  let base: URL;
  try {
    base = new URL(baseUrl);
  } catch {
    return problem('unreachable', 'the Prometheus address is not a URL like http://127.0.0.1:9090');
  }
  const where = describeBase(base);
  const url = new URL(`${base.pathname.replace(/\/$/, '')}/api/v1/query`, base.origin);
  url.searchParams.set('query', query);
  const timeoutMs = options.timeoutMs ?? 5000;
  const signals = [AbortSignal.timeout(timeoutMs), ...(options.signal ? [options.signal] : [])];
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.authorization) headers.authorization = options.authorization;
  else if (base.username || base.password) {
    headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`).toString('base64')}`;
  }

  let status: number;
  let text: string;
  try {
    const response = await request(url, { method: 'GET', headers, signal: AbortSignal.any(signals), headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    status = response.statusCode;
    text = await response.body.text();
  } catch (error) {
    const timedOut = signals[0]!.aborted;
    return problem('unreachable', timedOut ? `Prometheus at ${where} did not answer within ${timeoutMs} ms` : `Prometheus at ${where} is not reachable: ${errorMessage(error)}`);
  }
  let answer: ApiAnswer | undefined;
  try {
    answer = JSON.parse(text) as ApiAnswer;
  } catch {
    answer = undefined;
  }
  // Prometheus answers bad queries with 400 and a JSON error body: that body says more than the status.
  if (answer && typeof answer === 'object' && answer.status === 'error') return interpretPrometheusAnswer(answer);
  if (status < 200 || status >= 300) return problem('http_error', `Prometheus at ${where} answered HTTP ${status}`);
  if (!answer || typeof answer !== 'object') return problem('bad_response', `Prometheus at ${where} answered something that is not JSON`);
  return interpretPrometheusAnswer(answer);
}
