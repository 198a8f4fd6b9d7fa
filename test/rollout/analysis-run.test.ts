import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AnalysisRun, type Verdict } from '../../src/rollout/index.js';
import { startStage, type Stage } from './analysis-support.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Traffic at roughly 200 req/s split 90/10, for a bounded time; `canaryPath` decides the canary's answers. */
async function drive(stage: Stage, ms: number, canaryPath: () => string, stop: () => boolean = () => false): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until && !stop()) {
    await Promise.all([stage.traffic('rev_a', 9), stage.traffic('rev_b', 1, canaryPath())]);
    await sleep(20);
  }
}

describe('AnalysisRun against a real router', () => {
  let stage: Stage;
  let run: AnalysisRun | undefined;
  beforeEach(async () => {
    stage = await startStage();
  });
  afterEach(async () => {
    await run?.stop();
    await stage.close();
  });

  it('fails a canary that starts answering 500 within two seconds of its first bad response', async () => {
    // Earlier, healthy traffic is not part of this analysis.
    await stage.traffic('rev_a', 20, '/fail');
    run = new AnalysisRun({
      checks: [{ metric: 'error_rate', max: '1%' }],
      minRequests: 50,
      targetRevision: 'rev_b',
      compareWith: 'rev_a',
      router: stage.client,
    });
    const ended = new Promise<Verdict>((resolve) => run!.once('end', resolve));
    run.start();
    await sleep(1200);
    expect(run.latest()?.outcome).toBe('inconclusive');

    let firstBad: number | undefined;
    let endedAt: number | undefined;
    void ended.then(() => (endedAt = Date.now()));
    await drive(
      stage,
      4000,
      () => {
        firstBad ??= Date.now();
        return '/fail';
      },
      () => endedAt !== undefined,
    );
    const result = await ended;
    // One 1 s interval to the next look, a few bad answers for the evidence, and slack for a loaded machine.
    expect(endedAt! - firstBad!).toBeLessThanOrEqual(2500);
    expect(result.outcome).toBe('fail');
    expect(result.reason).toMatch(/^error rate 100% \(\d+ of \d+ requests\) on rev_b against 0% on rev_a, p < 0\.001; limit 1%$/);
    expect(run.status()).toMatchObject({ state: 'failed', counters: { consecutiveFailures: 1 }, result: { outcome: 'fail' } });
    expect(run.history().length).toBeGreaterThanOrEqual(2);
  });

  it('lets a healthy canary pass and keeps its history', async () => {
    run = new AnalysisRun({
      checks: [
        { metric: 'error_rate', max: '1%' },
        { metric: 'latency_p95', max: '500ms' },
      ],
      intervalMs: 250,
      minRequests: 20,
      targetRevision: 'rev_b',
      compareWith: 'rev_a',
      router: stage.client,
    });
    const verdicts: Verdict[] = [];
    run.on('verdict', (record) => verdicts.push(record.verdict));
    run.start();
    await drive(stage, 3000, () => '/');
    await run.stop();
    expect(verdicts.some((verdict) => verdict.outcome === 'fail')).toBe(false);
    expect(run.latest()?.outcome).toBe('pass');
    expect(run.latest()?.figures.target).toMatchObject({ revision: 'rev_b', errors5xx: 0 });
    expect(run.status().state).toBe('stopped');
    expect(run.history().map((record) => record.verdict)).toEqual(verdicts);
  });

  it('ends as failed when the router stays unreachable, on its own budget, with the cause named', async () => {
    run = new AnalysisRun({
      checks: [{ metric: 'error_rate', max: '1%' }],
      intervalMs: 100,
      minRequests: 10,
      targetRevision: 'rev_b',
      router: stage.client,
      providerErrorLimit: 3,
      failureLimit: 2,
    });
    const ended = new Promise<Verdict>((resolve) => run!.once('end', resolve));
    run.start();
    await sleep(250);
    await stage.router.close({ graceMs: 0 });
    const result = await ended;
    expect(result.outcome).toBe('fail');
    expect(result.reason).toMatch(/^the metric source failed 3 evaluations in a row \(provider error limit 3\): could not read the router's figures: .*not reachable/);
    expect(run.status().counters).toMatchObject({ consecutiveProviderErrors: 3, consecutiveFailures: 0 });
  });

  it('ends as inconclusive after too many inconclusive looks, never as a pass', async () => {
    run = new AnalysisRun({
      checks: [{ metric: 'error_rate', max: '1%' }],
      intervalMs: 100,
      minRequests: 1000,
      targetRevision: 'rev_b',
      router: stage.client,
      inconclusiveLimit: 3,
    });
    const ended = new Promise<Verdict>((resolve) => run!.once('end', resolve));
    run.start();
    const result = await ended;
    expect(result.outcome).toBe('inconclusive');
    expect(result.reason).toContain('3 inconclusive evaluations in a row');
    expect(run.status().state).toBe('inconclusive');
  });

  it('refuses a PromQL check without a Prometheus address', () => {
    expect(
      () => new AnalysisRun({ checks: [{ prometheus: 'up', max: 1 }], minRequests: 1, targetRevision: 'rev_b', router: stage.client }),
    ).toThrow(/prometheusUrl/);
  });
});
