import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { VulnerabilityScanner, bulkAdvisoryUrl } from '../../../src/supply-chain/vulns/index.js';
import { SHARED_OSV, component } from './fixtures.js';

// The shape registry.npmjs.org answers with: every advisory of each package named, whatever the versions asked.
const LODASH_ANSWER = {
  lodash: [
    {
      id: 1106913,
      url: 'https://github.com/advisories/GHSA-35jh-r3h4-6jhm',
      title: 'Command Injection in lodash',
      severity: 'high',
      vulnerable_versions: '<4.17.21',
      cwe: ['CWE-77', 'CWE-94'],
      cvss: { score: 7.2, vectorString: 'CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H' },
    },
    {
      id: 1094500,
      url: 'https://github.com/advisories/GHSA-p6mc-m468-83gw',
      title: 'Prototype Pollution in lodash',
      severity: 'high',
      vulnerable_versions: '>=3.7.0 <4.17.19',
      cwe: ['CWE-770', 'CWE-1321'],
      cvss: { score: 7.4, vectorString: 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:H' },
    },
    {
      id: 1999999,
      url: 'https://github.com/advisories/GHSA-f9cm-p3w6-xvr3',
      title: 'An advisory only the registry knows',
      severity: 'moderate',
      vulnerable_versions: '>=4.0.0 <4.17.22',
      cwe: [],
      cvss: { score: 0, vectorString: null },
    },
  ],
};

type Handler = (request: IncomingMessage, body: string, response: ServerResponse) => void;

describe("npm's bulk advisory endpoint as an optional second source", () => {
  let server: Server;
  let registry: string;
  let handler: Handler;
  const requests: Array<{ method: string; url: string; body: string; type: string | undefined }> = [];
  const hanging = new Set<ServerResponse>();

  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        requests.push({ method: request.method!, url: request.url!, body, type: request.headers['content-type'] });
        handler(request, body, response);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    // A registry with a path, as Artifactory and Verdaccio mirrors have: npm joins the endpoint to it.
    registry = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/npm/npm-remote`;
  });
  afterAll(async () => {
    for (const response of hanging) response.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    requests.length = 0;
  });

  const scannerWith = (options: { required?: boolean; timeoutMs?: number } = {}) =>
    new VulnerabilityScanner({ advisories: SHARED_OSV, npmRegistry: { registry, ...options } });

  it('joins the endpoint to the registry the way npm does', () => {
    expect(bulkAdvisoryUrl('https://registry.npmjs.org')).toBe('https://registry.npmjs.org/-/npm/v1/security/advisories/bulk');
    expect(bulkAdvisoryUrl('https://registry.npmjs.org/')).toBe('https://registry.npmjs.org/-/npm/v1/security/advisories/bulk');
    expect(bulkAdvisoryUrl('https://host/api/npm/npm/')).toBe('https://host/api/npm/npm/-/npm/v1/security/advisories/bulk');
    expect(() => bulkAdvisoryUrl('registry.npmjs.org')).toThrow(/is not a URL/);
  });

  it('a real-shaped answer: versions filtered by each range, the same advisory from both sources is one finding', async () => {
    handler = (_request, _body, response) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(LODASH_ANSWER));
    const result = await scannerWith().scan([
      component('npm', 'lodash', '4.17.20'),
      component('npm', 'lodash', '4.17.20'),
      component('PyPI', 'jinja2', '3.1.4'),
      component('npm', 'my-lib', 'file:../my-lib'),
    ]);
    expect(requests).toEqual([
      { method: 'POST', url: '/api/npm/npm-remote/-/npm/v1/security/advisories/bulk', body: '{"lodash":["4.17.20"],"my-lib":["file:../my-lib"]}', type: 'application/json' },
    ]);
    expect(result.status).toBe('complete');
    expect(result.findings.map((f) => [f.id, f.sources, f.fixedVersions])).toEqual([
      ['GHSA-35jh-r3h4-6jhm', ['osv', 'npm-registry'], ['4.17.21']],
      ['GHSA-29mw-wpgm-hmr9', ['osv'], ['4.17.21']],
      ['GHSA-f9cm-p3w6-xvr3', ['npm-registry'], []],
    ]);
    expect(result.findings[2]).toMatchObject({ severity: 'medium', summary: 'An advisory only the registry knows', url: 'https://github.com/advisories/GHSA-f9cm-p3w6-xvr3' });
    expect(result.findings[2]).not.toHaveProperty('cvss');
    expect(result.counts).toEqual({ critical: 0, high: 1, medium: 2, low: 0, unknown: 0 });
    // jinja2 is not npm's to know, but OSV scanned it: so it is not "unscanned". Neither source can judge a file: dependency.
    expect(result.unscanned).toEqual([
      {
        package: component('npm', 'my-lib', 'file:../my-lib'),
        reason:
          'osv: version "file:../my-lib" is not a valid npm (semver) version, so advisory ranges cannot be judged; npm-registry: version "file:../my-lib" is not a semver version, so advisory ranges cannot be judged',
      },
    ]);
    expect(result.sources.map((s) => [s.name, s.status, s.required, s.cached])).toEqual([
      ['osv', 'ok', true, false],
      ['npm-registry', 'ok', false, false],
    ]);
  });

  it('answers are reused for the same components (for an hour by default), so the registry is asked once', async () => {
    handler = (_request, _body, response) => response.writeHead(200).end(JSON.stringify(LODASH_ANSWER));
    const scanner = scannerWith();
    await scanner.scan([component('npm', 'lodash', '4.17.11')]);
    const again = await scanner.scan([component('npm', 'lodash', '4.17.11')]);
    expect(requests).toHaveLength(1);
    expect(again.sources.map((s) => s.cached)).toEqual([true, true]);
    expect(again.ids).toContain('GHSA-p6mc-m468-83gw');
  });

  it('405 (a mirror without the endpoint, as this machine\'s registry answers) marks only the optional source', async () => {
    handler = (_request, _body, response) => response.writeHead(405, { 'content-type': 'text/plain' }).end('Method Not Allowed');
    const result = await scannerWith().scan([component('npm', 'lodash', '4.17.20')]);
    expect(result.status).toBe('complete');
    expect(result.ids).toEqual(['GHSA-29mw-wpgm-hmr9', 'GHSA-35jh-r3h4-6jhm']);
    expect(result.sources[1]).toEqual({
      name: 'npm-registry',
      required: false,
      status: 'unavailable',
      reason: `${registry}/-/npm/v1/security/advisories/bulk answered 405 (this registry does not offer npm audit advisories): Method Not Allowed`,
      cached: false,
      problems: [],
    });
    // Unavailable answers are never cached: the next scan asks again.
    await scannerWith().scan([component('npm', 'lodash', '4.17.20')]);
    expect(requests).toHaveLength(2);
  });

  it('a required registry that cannot answer makes the scan unavailable: 500, a timeout, an answer of the wrong shape', async () => {
    handler = (_request, _body, response) => response.writeHead(500).end('{"error":"internal"}\nstack...');
    let result = await scannerWith({ required: true }).scan([component('npm', 'lodash', '4.17.21')]);
    expect(result.status).toBe('unavailable');
    expect(result.reason).toBe(`npm-registry: ${registry}/-/npm/v1/security/advisories/bulk answered 500: {"error":"internal"}`);

    handler = (_request, _body, response) => hanging.add(response);
    const started = Date.now();
    result = await scannerWith({ required: true, timeoutMs: 300 }).scan([component('npm', 'lodash', '4.17.21')]);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(result.status).toBe('unavailable');
    expect(result.reason).toMatch(/did not answer within 300 ms$/);

    handler = (_request, _body, response) => response.writeHead(200).end('[]');
    result = await scannerWith({ required: true }).scan([component('npm', 'lodash', '4.17.21')]);
    expect(result.reason).toMatch(/answered 200, but the answer is not a bulk advisory report/);
    handler = (_request, _body, response) => response.writeHead(200).end('<html>');
    result = await scannerWith({ required: true }).scan([component('npm', 'lodash', '4.17.21')]);
    expect(result.reason).toMatch(/answered 200 with something that is not JSON/);
  });

  it('nobody listening: unavailable with the reason; no npm packages: nothing is asked', async () => {
    const spare = createServer();
    await new Promise<void>((resolve) => spare.listen(0, '127.0.0.1', resolve));
    const port = (spare.address() as AddressInfo).port;
    await new Promise((resolve) => spare.close(resolve));
    const closed = new VulnerabilityScanner({ npmRegistry: { registry: `http://127.0.0.1:${port}`, required: true } });
    const result = await closed.scan([component('npm', 'lodash', '4.17.21')]);
    expect(result.status).toBe('unavailable');
    expect(result.reason).toBe(`npm-registry: cannot reach http://127.0.0.1:${port}/-/npm/v1/security/advisories/bulk: connect ECONNREFUSED 127.0.0.1:${port}`);

    handler = () => expect.unreachable('no request without npm packages');
    const pythonOnly = await scannerWith({ required: true }).scan([component('PyPI', 'jinja2', '3.1.4')]);
    expect(pythonOnly.status).toBe('complete');
    expect(pythonOnly.sources[1]).toMatchObject({ status: 'ok' });
  });
});
