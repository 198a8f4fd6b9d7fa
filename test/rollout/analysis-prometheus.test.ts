import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateChecks, queryPrometheus } from '../../src/rollout/index.js';
import { startStage, type Stage } from './analysis-support.js';
import { hasPrometheus, startPrometheus, waitFor, type PrometheusProcess } from './prometheus-process.js';

/** A server that speaks the Prometheus query API's JSON, answering what each test asks for. */
async function fakePrometheus(answer: (query: string) => { status: number; body: string; delayMs?: number }): Promise<{ url: string; server: Server; seen: Array<{ query: string; authorization?: string }> }> {
  const seen: Array<{ query: string; authorization?: string }> = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake.invalid');
    const query = url.searchParams.get('query') ?? '';
    seen.push({ query, authorization: req.headers.authorization });
    const { status, body, delayMs = 0 } = url.pathname === '/api/v1/query' ? answer(query) : { status: 404, body: 'not found' };
    setTimeout(() => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body);
    }, delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, seen };
}

const vector = (...values: Array<[Record<string, string>, string]>): string =>
  JSON.stringify({ status: 'success', data: { resultType: 'vector', result: values.map(([metric, value]) => ({ metric, value: [1700000000, value] })) } });

describe('queryPrometheus against a server speaking the query API', () => {
  let fake: Awaited<ReturnType<typeof fakePrometheus>>;
  beforeAll(async () => {
    fake = await fakePrometheus((query) => {
      switch (query) {
        case 'one':
          return { status: 200, body: vector([{}, '0.25']) };
        case 'labelled':
          return { status: 200, body: vector([{ revision: 'rev_b' }, '3']) };
        case 'scalar':
          return { status: 200, body: JSON.stringify({ status: 'success', data: { resultType: 'scalar', result: [1700000000, '42'] } }) };
        case 'none':
          return { status: 200, body: vector() };
        case 'many':
          return { status: 200, body: vector([{ code: '500' }, '1'], [{ code: '502' }, '2']) };
        case 'nan':
          return { status: 200, body: vector([{}, 'NaN']) };
        case 'bad(':
          return { status: 400, body: JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'parse error: unclosed left parenthesis' }) };
        case 'crash':
          return { status: 503, body: 'service unavailable' };
        case 'slow':
          return { status: 200, body: vector([{}, '1']), delayMs: 2000 };
        default:
          return { status: 200, body: '<html>not json</html>' };
      }
    });
  });
  afterAll(async () => {
    fake.server.closeAllConnections();
    await new Promise((resolve) => fake.server.close(resolve));
  });

  it('reads one number from a single-sample vector or a scalar', async () => {
    expect(await queryPrometheus(fake.url, 'one')).toEqual({ ok: true, value: 0.25 });
    expect(await queryPrometheus(fake.url, 'labelled')).toEqual({ ok: true, value: 3, labels: { revision: 'rev_b' } });
    expect(await queryPrometheus(`${fake.url}/`, 'scalar')).toEqual({ ok: true, value: 42 });
  });

  it('names each problem instead of throwing', async () => {
    expect(await queryPrometheus(fake.url, 'none')).toMatchObject({ ok: false, problem: 'empty', reason: expect.stringContaining('no series') });
    expect(await queryPrometheus(fake.url, 'many')).toMatchObject({ ok: false, problem: 'multiple_series', reason: expect.stringContaining('2 series') });
    expect(await queryPrometheus(fake.url, 'nan')).toMatchObject({ ok: false, problem: 'not_a_number' });
    expect(await queryPrometheus(fake.url, 'bad(')).toMatchObject({ ok: false, problem: 'query_error', reason: expect.stringContaining('unclosed left parenthesis') });
    expect(await queryPrometheus(fake.url, 'crash')).toMatchObject({ ok: false, problem: 'http_error', reason: expect.stringContaining('HTTP 503') });
    expect(await queryPrometheus(fake.url, 'other')).toMatchObject({ ok: false, problem: 'bad_response' });
    expect(await queryPrometheus(fake.url, 'slow', { timeoutMs: 200 })).toMatchObject({ ok: false, problem: 'unreachable', reason: expect.stringContaining('within 200 ms') });
    expect(await queryPrometheus('not a url', 'one')).toMatchObject({ ok: false, problem: 'unreachable' });
    const dead = createServer();
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    const deadPort = (dead.address() as AddressInfo).port;
    await new Promise((resolve) => dead.close(resolve));
    expect(await queryPrometheus(`http://127.0.0.1:${deadPort}`, 'one')).toMatchObject({ ok: false, problem: 'unreachable' });
  });

  it('sends credentials from the address as Basic auth but never shows them', async () => {
    const withCredentials = fake.url.replace('http://', 'http://reader:s3cret-pass@');
    const answer = await queryPrometheus(withCredentials, 'crash');
    expect(fake.seen.at(-1)?.authorization).toBe(`Basic ${Buffer.from('reader:s3cret-pass').toString('base64')}`);
    expect(JSON.stringify(answer)).not.toContain('s3cret');
  });
});

if (!hasPrometheus) console.warn('NOTE: the prometheus binary is missing (apt-get install prometheus): the real-Prometheus test is skipped.');

describe.skipIf(!hasPrometheus)('queryPrometheus against a real Prometheus scraping the router', () => {
  let stage: Stage;
  let prometheus: PrometheusProcess;
  let url: string;

  beforeAll(async () => {
    stage = await startStage({ token: 'scrape-token' });
    prometheus = await startPrometheus({ target: `127.0.0.1:${stage.router.adminPort}`, token: 'scrape-token' });
    url = prometheus.url;
  }, 30_000);

  afterAll(async () => {
    await prometheus?.close();
    await stage?.close();
  });

  it('gates on PromQL over the router’s /metrics', async () => {
    // Targets are picked up a few seconds after start: wait for the first scrape so the traffic below is seen rising.
    await waitFor('the first scrape of the router', 15_000, async () => {
      const up = await queryPrometheus(url, 'up{job="maestro-router"}');
      return up.ok && up.value === 1 ? true : undefined;
    });
    // Half of the canary's answers are 500s, none of the stable's; keep traffic flowing across several scrapes.
    const until = Date.now() + 3000;
    while (Date.now() < until) {
      await stage.traffic('rev_b', 5, '/fail');
      await stage.traffic('rev_b', 5);
      await stage.traffic('rev_a', 10);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const errors5xx = 'sum(rate(http_requests_total{revision="rev_b",code=~"5.."}[30s]))';
    const ratio = `${errors5xx} / sum(rate(http_requests_total{revision="rev_b"}[30s]))`;
    const answer = await waitFor('the canary 5xx rate to be scraped', 10_000, async () => {
      const result = await queryPrometheus(url, ratio);
      return result.ok ? result : undefined;
    }).catch(async (error: unknown) => {
      const targets = await (await fetch(`${url}/api/v1/targets`)).text().catch(() => '');
      const last = await queryPrometheus(url, ratio);
      throw new Error(`${String(error)}; last answer ${JSON.stringify(last)}; targets ${targets.slice(0, 1500)}; Prometheus said: ${prometheus.output.slice(-2000)}`);
    });
    expect(answer.value).toBeGreaterThan(0.3);
    expect(answer.value).toBeLessThan(0.7);
    expect(await queryPrometheus(url, errors5xx)).toMatchObject({ ok: true, value: expect.any(Number) });
    expect(await queryPrometheus(url, 'sum(rate(http_requests_total{revision="rev_a",code=~"5.."}[30s]))')).toMatchObject({ ok: false, problem: 'empty' });
    expect(await queryPrometheus(url, 'http_requests_total')).toMatchObject({ ok: false, problem: 'multiple_series' });
    expect(await queryPrometheus(url, 'sum(rate(http_requests_total[30s])')).toMatchObject({ ok: false, problem: 'query_error' });
    expect(await queryPrometheus(url, '0/0')).toMatchObject({ ok: false, problem: 'not_a_number' });

    const verdict = evaluateChecks({
      checks: [{ prometheus: ratio, max: 0.05 }],
      minRequests: 50,
      target: { revision: 'rev_b', requests: 100, errors5xx: 50 },
      prometheus: { [ratio]: answer },
    });
    expect(verdict.outcome).toBe('fail');
    expect(verdict.reason).toContain('limit 0.05');
  }, 30_000);
});
