import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/common/index.js';
import { RolloutAnalysis, RouterMetricsSource, countsFromCumulative } from '../../src/rollout/index.js';
import { startStage, type Stage } from './analysis-support.js';

describe('RouterMetricsSource against a real router', () => {
  let stage: Stage;
  beforeEach(async () => {
    stage = await startStage({ token: 'router-secret' });
  });
  afterEach(async () => {
    await stage.close();
  });

  it('counts only the requests since the analysis started, per revision', async () => {
    // Traffic before the start belongs to the previous rollout and must not be counted.
    await stage.traffic('rev_a', 10, '/fail');
    await stage.traffic('rev_b', 4);
    const source = new RouterMetricsSource({ router: stage.client, labels: { project: 'shop', service: 'web', environment: 'production' } });
    await source.start();

    await stage.traffic('rev_a', 30);
    await stage.traffic('rev_b', 6, '/fail');
    await stage.traffic('rev_b', 14);
    await stage.traffic('rev_b', 2, '/slow?ms=300');
    const samples = await source.sample(['rev_a', 'rev_b', 'rev_c']);
    expect(samples.rev_a).toMatchObject({ requests: 30, errors5xx: 0 });
    expect(samples.rev_b).toMatchObject({ requests: 22, errors5xx: 6 });
    expect(samples.rev_c).toMatchObject({ requests: 0, errors5xx: 0 });
    // Latency buckets are deltas too: the two slow requests sit in the 250-500 ms bucket.
    const counts = samples.rev_b!.latencyCounts!;
    expect(counts.reduce((sum, count) => sum + count, 0)).toBe(22);
    expect(counts[8]).toBe(2);
    expect(samples.rev_b!.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('keeps counting across a router restart, when its counters start again from zero', async () => {
    await stage.traffic('rev_b', 5);
    const source = new RouterMetricsSource({ router: stage.client });
    await source.start();
    await stage.traffic('rev_b', 8, '/fail');
    await stage.traffic('rev_b', 12);
    expect((await source.sample(['rev_b'])).rev_b).toMatchObject({ requests: 20, errors5xx: 8 });

    await stage.restartRouter();
    // Right after the restart the router has not seen rev_b at all: the totals stay.
    expect((await source.sample(['rev_b'])).rev_b).toMatchObject({ requests: 20, errors5xx: 8 });
    await stage.traffic('rev_b', 3, '/fail');
    await stage.traffic('rev_b', 4);
    expect((await source.sample(['rev_b'])).rev_b).toMatchObject({ requests: 27, errors5xx: 11 });
    await stage.traffic('rev_b', 2);
    const after = (await source.sample(['rev_b'])).rev_b!;
    expect(after).toMatchObject({ requests: 29, errors5xx: 11 });
    expect(after.latencyCounts!.reduce((sum, count) => sum + count, 0)).toBe(29);
  });

  it('fails to sample, with the router named, when the router is down', async () => {
    const source = new RouterMetricsSource({ router: stage.client });
    await source.start();
    await stage.router.close({ graceMs: 0 });
    await expect(source.sample(['rev_b'])).rejects.toThrow(/router admin API .* not reachable/);
  });

  it('an analysis that cannot read the router judges nothing: its verdicts are provider errors, from the start on', async () => {
    const spec = { checks: [{ metric: 'error_rate' as const, max: '5%' }], intervalMs: 100, minRequests: 5, targetRevision: 'rev_b', compareWith: 'rev_a' };
    const healthy = new RolloutAnalysis(spec, stage.client, undefined, silentLogger(), () => undefined);
    await healthy.start();
    await stage.traffic('rev_b', 10);
    await stage.traffic('rev_a', 10);
    await waitForVerdict(healthy, (verdict) => verdict.outcome === 'pass');
    expect(healthy.latest?.providerError).toBeUndefined();
    healthy.stop();

    await stage.router.close({ graceMs: 0 });
    const blind = new RolloutAnalysis(spec, stage.client, undefined, silentLogger(), () => undefined);
    await blind.start();
    expect(blind.latest).toMatchObject({ outcome: 'inconclusive', providerError: true, reason: expect.stringContaining("the router's figures could not be read") });
    const first = blind.latest!.at!;
    await waitForVerdict(blind, (verdict) => verdict.at! > first);
    expect(blind.latest).toMatchObject({ outcome: 'inconclusive', providerError: true });
    blind.stop();
  });

  it('turns cumulative buckets into per-bucket counts', () => {
    expect(countsFromCumulative([1, 1, 4, 9])).toEqual([1, 0, 3, 5]);
  });
});

async function waitForVerdict(analysis: RolloutAnalysis, test: (verdict: NonNullable<RolloutAnalysis['latest']>) => boolean): Promise<void> {
  for (let i = 0; i < 100; i += 1) {
    const verdict = analysis.latest;
    if (verdict && test(verdict)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no such verdict; the latest: ${JSON.stringify(analysis.latest)}`);
}
