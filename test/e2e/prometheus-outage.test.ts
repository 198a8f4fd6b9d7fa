// A canary judged partly by PromQL, with the real Prometheus killed for 60 s in the middle of it: the
// rollout holds where it is (the verdicts are provider errors, not failures), never rolls back, and is
// promoted once Prometheus is back. Takes a little over a minute and a half.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryPrometheus, type RolloutState } from '../../src/rollout/index.js';
import { freePort, hasPrometheus, startPrometheus, waitFor, type PrometheusProcess } from '../rollout/prometheus-process.js';
import { cli, exampleCopy, routerGet, startTestMaestro, steadyLoad, stopTestMaestro, versionOf, type TestMaestro } from './harness.js';

if (!hasPrometheus) console.warn('NOTE: the prometheus binary is missing (apt-get install prometheus): the Prometheus outage test is skipped.');

const HOST = 'web.production.hello.localhost';
const OUTAGE_MS = 60_000;
/** Answers a number whether or not there were 5xx answers lately; only a Prometheus that is down gives none. */
const QUERY = 'sum(rate(http_requests_total{code=~"5.."}[30s])) or vector(0)';

const CANARY = `    strategy:
      type: canary
      steps: [{weight: 20}, {pause: 5s}, {weight: 50}, {pause: 5s}]
      analysis:
        interval: 500ms
        min_requests: 20
        checks:
          - {metric: error_rate, max: 5%}
          - {prometheus: '${QUERY}', max: 1}
      watch: 3s`;

const version = (name: string) =>
  exampleCopy('node-hello', {
    'maestro.yml': (text) => text.replace('APP_VERSION: v1', `APP_VERSION: ${name}`).replace('    strategy: immediate', CANARY),
  });

describe.skipIf(!hasPrometheus)('a canary while Prometheus is down for 60 s', () => {
  let maestro: TestMaestro;
  let prometheus: PrometheusProcess;

  beforeAll(async () => {
    // Maestro must know Prometheus' address before it starts, and Prometheus the router's before it does.
    const prometheusPort = await freePort();
    maestro = await startTestMaestro({ prometheusUrl: `http://127.0.0.1:${prometheusPort}` });
    const token = readFileSync(maestro.paths.routerToken, 'utf8').trim();
    prometheus = await startPrometheus({ target: `127.0.0.1:${maestro.routerAdminPort}`, token, port: prometheusPort });
    await waitFor('the first scrape of the router', 20_000, async () => {
      const up = await queryPrometheus(prometheus.url, 'up{job="maestro-router"}');
      return up.ok && up.value === 1 ? true : undefined;
    });
    const first = await cli(['deploy', await version('v1'), '--json'], maestro.env);
    expect(first.code, first.stderr).toBe(0);
  }, 90_000);

  afterAll(async () => {
    await prometheus?.close();
    await stopTestMaestro(maestro);
  });

  it('holds the weight, never rolls back, and promotes once Prometheus is back', async () => {
    const load = steadyLoad(maestro.routerPort, HOST, 2);
    const pending = cli(['deploy', await version('v2'), '--json'], maestro.env);
    const deploymentId = await waitFor('the canary to take 20%', 60_000, async () => {
      const current = (await maestro.store.traffic.list())[0];
      return current?.weight === 20 ? current.deploymentId : undefined;
    });

    await prometheus.kill();
    const seen: Array<{ weight: number | undefined; status: string; phase: string | undefined }> = [];
    let providerErrors = 0;
    const outageEnds = Date.now() + OUTAGE_MS;
    while (Date.now() < outageEnds) {
      const deployment = (await maestro.store.deployments.get(deploymentId))!;
      const state = deployment.rolloutState as RolloutState | undefined;
      const weight = (await maestro.store.traffic.list()).find((entry) => entry.deploymentId === deploymentId)?.weight;
      seen.push({ weight, status: deployment.status, phase: state?.phase });
      providerErrors = Math.max(providerErrors, state?.providerErrors?.count ?? 0);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    // Held at 20% for the whole outage (its 5 s pause long over), still deploying, never paused or rolling back.
    expect(seen.length).toBeGreaterThan(60);
    expect(new Set(seen.map((entry) => entry.weight))).toEqual(new Set([20]));
    expect(new Set(seen.map((entry) => entry.status))).toEqual(new Set(['deploying']));
    expect(seen.filter((entry) => entry.phase !== 'stepping')).toEqual([]);
    // About two verdicts a second were provider errors, and the status says so.
    expect(providerErrors).toBeGreaterThan(60);
    const status = JSON.parse((await cli(['rollout', 'status', '--service', 'web', '--project', 'hello', '--json'], maestro.env)).stdout) as {
      state: { providerErrors?: { count: number; reason: string }; detail: string };
    };
    expect(status.state.providerErrors?.reason).toMatch(/Prometheus at http:\/\/127\.0\.0\.1:\d+ is not reachable/);
    expect(status.state.detail).toContain('a metric source is failing');

    await prometheus.restart();
    const result = await pending;
    const report = await load.stop();
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ status: 'succeeded' });
    expect(report.failed).toEqual([]);
    expect(versionOf((await routerGet(maestro.routerPort, HOST)).body)).toBe('v2');
    const progress = (await maestro.store.events.listSince(0, { deploymentId: deploymentId })).map((event) => JSON.stringify(event.data));
    expect(progress.filter((text) => /rollback|paused/.test(text))).toEqual([]);
  }, 240_000);
});
