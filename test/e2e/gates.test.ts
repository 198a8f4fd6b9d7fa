import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SIGNATURE_HEADER, verifyWebhookSignature } from '../../src/events/index.js';
import { callGate } from '../../src/server/gate-call.js';
import { cli, exampleCopy, routerGet, startTestMaestro, steadyLoad, stopTestMaestro, versionOf, type TestMaestro } from './harness.js';

const HOST = 'web.production.hello.localhost';
const SECRET_ENV = 'MAESTRO_TEST_GATE_SECRET';
const SECRET = 'gate-secret-0123456789abcdef';

interface GateCall {
  body: { stage: string; currentWeight: number; nextWeight: number; [key: string]: unknown };
  raw: string;
  headers: IncomingHttpHeaders;
}

type Answer = { status: number; text?: string } | 'never';

/** A real HTTP server playing the gate (a CI job, an approval service): records each call, answers as told. */
async function startGate(): Promise<{ url: string; calls: GateCall[]; answer: (decide: (call: GateCall) => Answer) => void; close(): Promise<void> }> {
  const calls: GateCall[] = [];
  const held: ServerResponse[] = [];
  let decide: (call: GateCall) => Answer = () => ({ status: 200 });
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      const call: GateCall = { body: JSON.parse(raw) as GateCall['body'], raw, headers: req.headers };
      calls.push(call);
      const answer = decide(call);
      if (answer === 'never') {
        held.push(res);
        return;
      }
      res.writeHead(answer.status, { 'content-type': 'text/plain' });
      res.end(answer.text ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/maestro-gate`,
    calls,
    answer: (next) => (decide = next),
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function version(name: string, strategy: string) {
  return exampleCopy('node-hello', {
    'maestro.yml': (text) => text.replace('APP_VERSION: v1', `APP_VERSION: ${name}`).replace('    strategy: immediate', strategy),
  });
}

const canary = (gate: string) => `    strategy:
      type: canary
      steps: [{weight: 20}, {pause: 1s}, {weight: 50}, {pause: 1s}]
      analysis: {interval: 500ms, min_requests: 5, checks: [{metric: error_rate, max: 5%}]}
      watch: 1s
      gates:
        - ${gate}`;

describe('webhook gates in rollouts', () => {
  let maestro: TestMaestro;
  let gate: Awaited<ReturnType<typeof startGate>>;

  beforeAll(async () => {
    // The control plane runs in this process: its environment is ours.
    process.env[SECRET_ENV] = SECRET;
    gate = await startGate();
    maestro = await startTestMaestro();
    const first = await cli(['deploy', await version('v1', '    strategy: immediate'), '--json'], maestro.env);
    expect(first.code, first.stderr).toBe(0);
  });
  afterAll(async () => {
    await stopTestMaestro(maestro);
    await gate?.close();
    delete process.env[SECRET_ENV];
  });
  beforeEach(() => {
    gate.calls.length = 0;
  });

  it('a canary whose gate answers 200 at every moment is promoted; each call is signed and says where the rollout is', async () => {
    gate.answer(() => ({ status: 200 }));
    const strategy = canary(`{webhook: "${gate.url}", on: [before_rollout, before_weight_increase, before_promotion], timeout: 5s, secret_env: ${SECRET_ENV}}`);
    const load = steadyLoad(maestro.routerPort, HOST, 2);
    const result = await cli(['deploy', await version('v2', strategy), '--json'], maestro.env);
    const report = await load.stop();
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ status: 'succeeded' });
    expect(report.failed).toEqual([]);
    expect(versionOf((await routerGet(maestro.routerPort, HOST)).body)).toBe('v2');

    expect(gate.calls.map((call) => [call.body.stage, call.body.currentWeight, call.body.nextWeight])).toEqual([
      ['before_rollout', 0, 0],
      ['before_weight_increase', 0, 20],
      ['before_weight_increase', 20, 50],
      ['before_promotion', 50, 100],
    ]);
    const id = (JSON.parse(result.stdout) as { id: string }).id;
    for (const call of gate.calls) {
      expect(call.body).toMatchObject({ project: 'hello', service: 'web', environment: 'production', deploymentId: id, strategy: 'canary', type: `gate.${call.body.stage}` });
      expect(call.body.revisionId).toEqual(expect.any(String));
      expect(call.body.stableRevisionId).toEqual(expect.any(String));
      expect(verifyWebhookSignature(SECRET, call.raw, call.headers[SIGNATURE_HEADER] as string | undefined)).toBe(true);
      expect(call.headers['x-maestro-event']).toBe(`gate.${call.body.stage}`);
    }

    const status = JSON.parse((await cli(['rollout', 'status', '--service', 'web', '--project', 'hello', '--json'], maestro.env)).stdout) as {
      state: { gates: Array<{ stage: string; outcome: string; reason: string }> };
    };
    expect(status.state.gates.map((g) => [g.stage, g.outcome])).toEqual([
      ['before_rollout', 'pass'],
      ['before_weight_increase', 'pass'],
      ['before_weight_increase', 'pass'],
      ['before_promotion', 'pass'],
    ]);
  }, 90_000);

  it('a gate answering 503 before the weight goes to 50% rolls the canary back, with the gate and the moment in the reason', async () => {
    gate.answer((call) => (call.body.nextWeight === 50 ? { status: 503, text: 'load test failed: p99 1.2s over 800ms\nmore detail' } : { status: 204 }));
    const strategy = canary(`{webhook: "${gate.url}", on: [before_weight_increase], timeout: 5s}`);
    const load = steadyLoad(maestro.routerPort, HOST, 2);
    const result = await cli(['deploy', await version('v3', strategy), '--json'], maestro.env);
    const report = await load.stop();
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({
      status: 'rolled_back',
      error: `gate ${gate.url} answered 503 (load test failed: p99 1.2s over 800ms) before raising canary weight to 50%`,
    });
    expect(report.failed).toEqual([]);
    expect(gate.calls.map((call) => call.body.nextWeight)).toEqual([20, 50]);
    // Without secret_env nothing is signed.
    expect(gate.calls[0]!.headers[SIGNATURE_HEADER]).toBeUndefined();
    for (let i = 0; i < 10; i += 1) expect(versionOf((await routerGet(maestro.routerPort, HOST)).body)).toBe('v2');

    const text = await cli(['rollout', 'status', '--service', 'web', '--project', 'hello'], maestro.env);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/gate {7}pass at \S+: http:\/\/127\.0\.0\.1:\d+\/maestro-gate answered 204 before raising canary weight to 20%/);
    expect(text.stdout).toMatch(/gate {7}fail at \S+: http:\/\/127\.0\.0\.1:\d+\/maestro-gate answered 503 \(load test failed: p99 1\.2s over 800ms\) before raising canary weight to 50%/);
  }, 90_000);

  it('a gate that never answers fails the deployment at its timeout, before any replica starts', async () => {
    gate.answer(() => 'never');
    const strategy = canary(`{webhook: "${gate.url}", on: [before_rollout], timeout: 1s}`);
    const started = Date.now();
    const result = await cli(['deploy', await version('v4', strategy), '--json'], maestro.env);
    expect(result.code).toBe(1);
    const outcome = JSON.parse(result.stdout) as { id: string; status: string; error: string };
    expect(outcome).toMatchObject({ status: 'failed', error: `gate ${gate.url} did not answer within 1s before the rollout` });
    expect(Date.now() - started).toBeGreaterThan(1000);
    expect(gate.calls).toHaveLength(1);
    const progress = (await maestro.store.events.listSince(0, { deploymentId: outcome.id }))
      .filter((event) => event.type === 'progress')
      .map((event) => String((event.data as { message?: unknown }).message));
    expect(progress.some((message) => message.startsWith('starting '))).toBe(false);
    expect(progress).toContain(`gate ${gate.url} did not answer within 1s before the rollout: refused`);
    expect(versionOf((await routerGet(maestro.routerPort, HOST)).body)).toBe('v2');
  }, 90_000);
});

describe('callGate', () => {
  const request = (webhook: string, extra: Partial<Parameters<typeof callGate>[0]> = {}) => ({
    id: 'gate-0-before_rollout-0-1',
    gate: 0,
    stage: 'before_rollout' as const,
    webhook,
    timeoutMs: 2000,
    currentWeight: 0,
    nextWeight: 0,
    ...extra,
  });
  const context = { project: 'hello', service: 'web', environment: 'production', deploymentId: 'dep_1', revisionId: 'rev_1', strategy: 'canary' };

  it('fails closed when the secret it should sign with is not set, and says which variable, never a secret', async () => {
    const result = await callGate(request('http://127.0.0.1:9/never-called', { secretEnv: 'NOT_SET_ANYWHERE' }), context, { env: {} });
    expect(result).toMatchObject({ outcome: 'fail', reason: "could not be signed: NOT_SET_ANYWHERE is not set in the control plane's environment" });
  });

  it('a gate nobody listens on fails as unreachable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const result = await callGate(request(`http://127.0.0.1:${port}/gate`), context);
    expect(result.outcome).toBe('fail');
    expect(result.reason).toMatch(/^could not be reached \(.*ECONNREFUSED.*\)$/);
  });
});
