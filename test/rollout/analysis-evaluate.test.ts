import { describe, expect, it } from 'vitest';
import { bucketIndex, LATENCY_BUCKETS_MS } from '../../src/router/index.js';
import { evaluateChecks, type AnalysisCheck, type PromResult, type RevisionSample } from '../../src/rollout/index.js';

const ERROR_RATE: AnalysisCheck[] = [{ metric: 'error_rate', max: '1%' }];

function sample(revision: string, errors5xx: number, requests: number, extra: Partial<RevisionSample> = {}): RevisionSample {
  return { revision, requests, errors5xx, ...extra };
}

/** Per-bucket counts for a list of latencies, as the router would count them. */
function buckets(latenciesMs: number[]): number[] {
  const counts = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  for (const latency of latenciesMs) counts[bucketIndex(latency)]! += 1;
  return counts;
}

/** Small seeded generator (mulberry32), so simulations are the same on every run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function errorsIn(requests: number, rate: number, random: () => number): number {
  let errors = 0;
  for (let i = 0; i < requests; i++) if (random() < rate) errors += 1;
  return errors;
}

describe('evaluateChecks', () => {
  it('fails a canary answering 20 of 20 with 5xx at once, before min_requests, with the figures that decided it', () => {
    const verdict = evaluateChecks({ checks: ERROR_RATE, minRequests: 50, target: sample('rev_b', 20, 20), stable: sample('rev_a', 1, 400) });
    expect(verdict.outcome).toBe('fail');
    expect(verdict.reason).toBe('error rate 100% (20 of 20 requests) on rev_b against 0.25% on rev_a, p < 0.001; limit 1%');
    expect(verdict.checks[0]).toMatchObject({ outcome: 'fail', value: 1 });
    expect(verdict.figures).toMatchObject({
      target: { revision: 'rev_b', requests: 20, errors5xx: 20, errorRate: 1 },
      stable: { revision: 'rev_a', requests: 400, errors5xx: 1 },
      comparison: { method: 'fisher_exact' },
    });
    expect((verdict.figures.comparison as { pOneSided: number }).pOneSided).toBeLessThan(0.001);
  });

  it('fails a broken canary after a handful of requests even without a stable revision to compare with', () => {
    expect(evaluateChecks({ checks: ERROR_RATE, minRequests: 50, target: sample('rev_b', 5, 5) }).outcome).toBe('fail');
  });

  it('passes a healthy canary whose noise matches the stable revision', () => {
    const verdict = evaluateChecks({ checks: ERROR_RATE, minRequests: 50, target: sample('rev_b', 1, 200), stable: sample('rev_a', 2, 400) });
    expect(verdict.outcome).toBe('pass');
    expect(verdict.reason).toMatch(/^all 1 check pass: error rate 0.5% \(1 of 200 requests\) on rev_b against 0.5% on rev_a; limit 1%$/);
  });

  it('waits for min_requests unless the evidence is overwhelming', () => {
    const fewClean = evaluateChecks({ checks: ERROR_RATE, minRequests: 50, target: sample('rev_b', 0, 10), stable: sample('rev_a', 2, 400) });
    expect(fewClean.outcome).toBe('inconclusive');
    expect(fewClean.reason).toContain('10 requests on rev_b so far, 50 needed');
    // One error in ten requests is 10%, far above 1%, but well within what a healthy revision produces now and then.
    const oneUnlucky = evaluateChecks({ checks: ERROR_RATE, minRequests: 50, target: sample('rev_b', 1, 10), stable: sample('rev_a', 2, 400) });
    expect(oneUnlucky.outcome).toBe('inconclusive');
    const none = evaluateChecks({ checks: ERROR_RATE, minRequests: 50, target: sample('rev_b', 0, 0) });
    expect(none).toMatchObject({ outcome: 'inconclusive', reason: 'no requests on rev_b yet' });
  });

  it('fails a revision clearly over the limit once it has enough requests, and not one merely grazing it', () => {
    expect(evaluateChecks({ checks: ERROR_RATE, minRequests: 50, target: sample('rev_b', 30, 1000) }).outcome).toBe('fail');
    const grazing = evaluateChecks({ checks: ERROR_RATE, minRequests: 50, target: sample('rev_b', 12, 1000) });
    expect(grazing.outcome).toBe('inconclusive');
    expect(grazing.reason).toContain('not yet beyond noise');
  });

  it('judges p95 against a 500ms limit from latency buckets', () => {
    const check: AnalysisCheck[] = [{ metric: 'latency_p95', max: '500ms' }];
    const fast = Array.from({ length: 200 }, (_, i) => (i < 196 ? 20 : 700));
    const slow = Array.from({ length: 200 }, (_, i) => (i < 150 ? 20 : 800));
    const pass = evaluateChecks({ checks: check, minRequests: 50, target: sample('rev_b', 0, 200, { latencyCounts: buckets(fast) }) });
    expect(pass.outcome).toBe('pass');
    expect(pass.checks[0]!.value).toBeLessThanOrEqual(500);
    const fail = evaluateChecks({ checks: check, minRequests: 50, target: sample('rev_b', 0, 200, { latencyCounts: buckets(slow) }) });
    expect(fail.outcome).toBe('fail');
    expect(fail.reason).toMatch(/^p95 latency .* on rev_b, 50 of 200 requests slower than 500ms, p < 0.001; limit 500ms$/);
    // All of a few requests taking seconds is overwhelming even below min_requests.
    const allSlow = evaluateChecks({ checks: check, minRequests: 50, target: sample('rev_b', 0, 10, { latencyCounts: buckets(new Array(10).fill(3000)) }) });
    expect(allSlow.outcome).toBe('fail');
  });

  it('takes quantiles from sources without buckets', () => {
    const check: AnalysisCheck[] = [{ metric: 'latency_p99', max: '1s' }];
    expect(evaluateChecks({ checks: check, minRequests: 10, target: sample('r', 0, 100, { quantiles: { p99: 1500 } }) }).outcome).toBe('fail');
    expect(evaluateChecks({ checks: check, minRequests: 10, target: sample('r', 0, 100, { quantiles: { p99: 900 } }) }).outcome).toBe('pass');
    expect(evaluateChecks({ checks: check, minRequests: 10, target: sample('r', 0, 100, { quantiles: {} }) }).outcome).toBe('inconclusive');
  });

  it('measures request rate over the window', () => {
    const check: AnalysisCheck[] = [{ metric: 'request_rate', max: 100 }];
    expect(evaluateChecks({ checks: check, minRequests: 50, target: sample('r', 0, 500, { durationMs: 10_000 }) }).outcome).toBe('pass');
    const over = evaluateChecks({ checks: check, minRequests: 50, target: sample('r', 0, 5000, { durationMs: 10_000 }) });
    expect(over).toMatchObject({ outcome: 'fail', reason: 'request rate 500/s (5000 requests in 10s) on r; limit 100/s' });
  });

  it('treats PromQL problems as inconclusive, never as success; a source that fails is a provider error, a query with no data is not', () => {
    const checks: AnalysisCheck[] = [{ metric: 'error_rate', max: '1%' }, { prometheus: 'sum(rate(x[1m]))', max: 5 }];
    const target = sample('rev_b', 0, 500);
    const answer = (result: PromResult) => evaluateChecks({ checks, minRequests: 50, target, prometheus: { 'sum(rate(x[1m]))': result } });
    const empty = answer({ ok: false, problem: 'empty', reason: 'the query returned no series' });
    expect(empty.outcome).toBe('inconclusive');
    expect(empty.providerError).toBeUndefined();
    expect(empty.reason).toBe('PromQL "sum(rate(x[1m]))": the query returned no series');
    for (const problem of ['unreachable', 'http_error', 'query_error', 'bad_response'] as const) {
      expect(answer({ ok: false, problem, reason: 'Prometheus at http://127.0.0.1:9 is not reachable' }), problem).toMatchObject({ outcome: 'inconclusive', providerError: true });
    }
    for (const problem of ['empty', 'not_a_number', 'multiple_series'] as const) {
      expect(answer({ ok: false, problem, reason: 'no number' }).providerError, problem).toBeUndefined();
    }
    // The source down while the router's figures are too few as well: lack of data is the reason that lasts.
    const few = evaluateChecks({
      checks,
      minRequests: 50,
      target: sample('rev_b', 0, 10),
      prometheus: { 'sum(rate(x[1m]))': { ok: false, problem: 'unreachable', reason: 'not reachable' } },
    });
    expect(few.outcome).toBe('inconclusive');
    expect(few.providerError).toBeUndefined();
    const notAsked = evaluateChecks({ checks, minRequests: 50, target });
    expect(notAsked).toMatchObject({ outcome: 'inconclusive', providerError: true });
    expect(evaluateChecks({ checks, minRequests: 50, target, prometheus: { 'sum(rate(x[1m]))': { ok: true, value: 4 } } }).outcome).toBe('pass');
    const over = evaluateChecks({ checks, minRequests: 50, target, prometheus: { 'sum(rate(x[1m]))': { ok: true, value: 7.5 } } });
    expect(over).toMatchObject({ outcome: 'fail', reason: 'PromQL "sum(rate(x[1m]))" = 7.5; limit 5' });
    expect(over.figures.prometheus).toEqual({ 'sum(rate(x[1m]))': 7.5 });
  });

  it('combines checks: a fail beats an inconclusive, which beats a pass', () => {
    const checks: AnalysisCheck[] = [
      { metric: 'error_rate', max: '1%' },
      { metric: 'latency_p99', max: '1s' },
      { metric: 'request_rate', max: 1000 },
    ];
    const target = sample('rev_b', 20, 20, { durationMs: 1000 });
    expect(evaluateChecks({ checks, minRequests: 50, target }).outcome).toBe('fail');
    expect(evaluateChecks({ checks, minRequests: 50, target: sample('rev_b', 0, 100, { durationMs: 1000 }) }).outcome).toBe('inconclusive');
  });

  it('never fails a healthy canary with 0.5% errors like stable over two minutes of 1-second looks (20 seeded runs)', () => {
    let falseFails = 0;
    let passes = 0;
    for (let run = 0; run < 20; run++) {
      const random = seeded(1000 + run);
      const stable = sample('rev_a', 0, 0);
      const canary = sample('rev_b', 0, 0);
      for (let second = 1; second <= 120; second++) {
        // 200 req/s in all, 10% to the canary.
        stable.requests += 180;
        stable.errors5xx += errorsIn(180, 0.005, random);
        canary.requests += 20;
        canary.errors5xx += errorsIn(20, 0.005, random);
        const verdict = evaluateChecks({ checks: ERROR_RATE, minRequests: 50, target: { ...canary }, stable: { ...stable } });
        if (verdict.outcome === 'fail') falseFails += 1;
        if (second === 120 && verdict.outcome === 'pass') passes += 1;
      }
    }
    expect(falseFails).toBe(0);
    expect(passes).toBe(20);
  });

  it('fails a broken canary at 10% of 200 req/s within its first second of bad answers (20 seeded runs)', () => {
    for (let run = 0; run < 20; run++) {
      const random = seeded(5000 + run);
      const stable = sample('rev_a', 0, 0);
      const canary = sample('rev_b', 0, 0);
      let failedAt: number | undefined;
      for (let tick = 1; tick <= 10 && failedAt === undefined; tick++) {
        // Looks every 250 ms: 45 requests to stable and 5 to the canary in between.
        stable.requests += 45;
        stable.errors5xx += errorsIn(45, 0.005, random);
        canary.requests += 5;
        canary.errors5xx += 5;
        const verdict = evaluateChecks({ checks: ERROR_RATE, minRequests: 50, target: { ...canary }, stable: { ...stable } });
        if (verdict.outcome === 'fail') failedAt = tick * 250;
      }
      expect(failedAt).toBeDefined();
      expect(failedAt!).toBeLessThanOrEqual(1000);
    }
  });
});
