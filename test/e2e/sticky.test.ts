import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keepAliveAgent, send } from '../router/support.js';
import { cli, exampleCopy, startTestMaestro, steadyLoad, stopTestMaestro, versionOf, type TestMaestro } from './harness.js';

const HOST = 'web.production.hello.localhost';

const STICKY = `    strategy:
      type: canary
      sticky: true
      steps: [{weight: 50}, {pause: {}}]
      analysis: {interval: 500ms, min_requests: 5, checks: [{metric: error_rate, max: 5%}]}
      watch: 1s`;

function version(name: string) {
  return exampleCopy('node-hello', {
    'maestro.yml': (text) => text.replace('APP_VERSION: v1', `APP_VERSION: ${name}`).replace('    strategy: immediate', STICKY),
  });
}

/** The name=value part of the router's sticky cookie in an answer, if it set one. */
function stickyCookie(setCookie: string | string[] | undefined): string | undefined {
  const lines = setCookie === undefined ? [] : Array.isArray(setCookie) ? setCookie : [setCookie];
  return lines.find((line) => line.startsWith('maestro-sticky='))?.split(';')[0];
}

/**
 * `sticky: true` in maestro.yml reaches the router through the route table: each client stays on the
 * revision it was first sent to during the split, testers reach either side by name, and after the
 * promotion everybody is on the new revision.
 */
describe('a sticky canary', () => {
  let maestro: TestMaestro;
  beforeAll(async () => {
    maestro = await startTestMaestro();
    const first = await cli(['deploy', await version('v1'), '--json'], maestro.env);
    expect(first.code, first.stderr).toBe(0);
  }, 90_000);
  afterAll(async () => {
    keepAliveAgent.destroy();
    await stopTestMaestro(maestro);
  });

  it('keeps each client on one version during the split, then moves everybody to the promoted one', async () => {
    const pending = cli(['deploy', await version('v2'), '--json'], maestro.env);
    for (let i = 0; i < 300 && !((await maestro.store.traffic.list())[0]?.weight ?? 0); i += 1) await new Promise((resolve) => setTimeout(resolve, 100));
    const port = maestro.routerPort;

    const clients: Array<{ cookie: string; version: string }> = [];
    for (let index = 0; index < 20; index++) {
      const answer = await send(port, HOST);
      const cookie = stickyCookie(answer.headers['set-cookie']);
      expect(cookie).toBe(`maestro-sticky=${String(answer.headers['x-maestro-revision'])}`);
      clients.push({ cookie: cookie!, version: versionOf(answer.body)! });
    }
    expect(new Set(clients.map((entry) => entry.version))).toEqual(new Set(['v1', 'v2']));
    for (const entry of clients) {
      for (let again = 0; again < 3; again++) expect(versionOf((await send(port, HOST, { headers: { cookie: entry.cookie } })).body)).toBe(entry.version);
    }
    expect(versionOf((await send(port, HOST, { headers: { 'x-maestro-revision': 'canary' } })).body)).toBe('v2');
    expect(versionOf((await send(port, HOST, { headers: { cookie: 'maestro-revision=stable' } })).body)).toBe('v1');

    // Traffic for the analysis, so the promote is taken.
    const load = steadyLoad(port, HOST, 2);
    const promote = await cli(['promote', '--service', 'web', '--project', 'hello', '--json'], maestro.env);
    expect(promote.code, promote.stderr).toBe(0);
    const result = await pending;
    const report = await load.stop();
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(report.failed).toEqual([]);
    for (const entry of clients) {
      const after = await send(port, HOST, { headers: { cookie: entry.cookie } });
      expect(versionOf(after.body)).toBe('v2');
      expect(String(after.headers['set-cookie'])).toMatch(/^maestro-sticky=;.*Max-Age=0/);
    }
  }, 90_000);
});
