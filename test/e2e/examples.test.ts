import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, exampleCopy, routerGet, startTestMaestro, steadyLoad, stopTestMaestro, EXAMPLES, type TestMaestro } from './harness.js';

describe('the bundled examples deploy as they are', () => {
  let maestro: TestMaestro;
  beforeAll(async () => {
    maestro = await startTestMaestro({ startTimeoutMs: 30_000 });
  });
  afterAll(async () => stopTestMaestro(maestro));

  it('serves a static site (no health check: Maestro probes the port) with its own 404 page', async () => {
    const result = await cli(['deploy', join(EXAMPLES, 'static-site'), '--json'], maestro.env);
    expect(result.code, result.stderr).toBe(0);
    const host = 'www.production.site.localhost';
    const index = await routerGet(maestro.routerPort, host);
    expect(index.status).toBe(200);
    expect(index.body).toContain('A static site, served by Maestro');
    expect((await routerGet(maestro.routerPort, host, '/style.css')).headers['content-type']).toMatch(/text\/css/);
    const missing = await routerGet(maestro.routerPort, host, '/nope');
    expect(missing.status).toBe(404);
    expect(missing.body).toContain('This page does not exist');

    // A redeploy without a health check is still zero-downtime: the probe gates the switch.
    const load = steadyLoad(maestro.routerPort, host, 4);
    const again = await cli(['deploy', await exampleCopy('static-site', { 'public/index.html': (t) => t.replace('A static site', 'A new static site') }), '--json'], maestro.env);
    const report = await load.stop();
    expect(again.code, again.stderr).toBe(0);
    expect(report.failed).toEqual([]);
    expect((await routerGet(maestro.routerPort, host)).body).toContain('A new static site');
  });

  it('installs npm dependencies in the build and runs two replicas of an Express app', async () => {
    const dir = await exampleCopy('node-express');
    await rm(join(dir, 'node_modules'), { recursive: true, force: true });
    const result = await cli(['deploy', dir, '--json'], maestro.env);
    expect(result.code, result.stderr).toBe(0);
    const host = 'api.production.express-demo.localhost';
    const answer = await routerGet(maestro.routerPort, host);
    expect(answer.status).toBe(200);
    expect(answer.body).toContain('Hello from Express on Maestro');
    const status = JSON.parse((await cli(['status', '--project', 'express-demo', '--json'], maestro.env)).stdout) as {
      services: Array<{ replicas: Array<{ state: string }> }>;
    };
    expect(status.services[0]!.replicas.map((r) => r.state)).toEqual(['healthy', 'healthy']);

    // A one-file change: the dependencies come from the cache, npm ci does not run again.
    await writeFile(join(dir, 'server.js'), (await readFile(join(dir, 'server.js'), 'utf8')).replace('Hello from Express', 'Hi from Express'));
    const changed = await cli(['deploy', dir, '--json'], maestro.env);
    expect(changed.code, changed.stderr).toBe(0);
    expect((await routerGet(maestro.routerPort, host)).body).toContain('Hi from Express on Maestro');
    const { builds } = JSON.parse((await cli(['builds', '--project', 'express-demo', '--json'], maestro.env)).stdout) as {
      builds: Array<{ steps: Array<{ name: string; status: string; cache: string | null }> }>;
    };
    expect(builds[0]!.steps.find((step) => step.name === 'install')).toMatchObject({ status: 'skipped', cache: 'hit' });
    expect(builds[1]!.steps.find((step) => step.name === 'install')).toMatchObject({ status: 'succeeded', cache: 'miss' });
    const stats = JSON.parse((await cli(['cache', 'stats', '--json'], maestro.env)).stdout) as { hits: number; entries: number };
    expect(stats.hits).toBeGreaterThanOrEqual(1);
    expect(stats.entries).toBeGreaterThanOrEqual(1);
  }, 180_000);

  it('deploys every service of a monorepo, each running beside the workspace packages it uses', async () => {
    const result = await cli(['deploy', join(EXAMPLES, 'monorepo'), '--json'], maestro.env);
    expect(result.code, result.stderr).toBe(0);
    const { deployments } = JSON.parse(result.stdout) as { deployments: Array<{ service: string; status: string }> };
    expect(deployments.map((d) => [d.service, d.status]).sort()).toEqual([
      ['api', 'succeeded'],
      ['web', 'succeeded'],
    ]);
    expect((await routerGet(maestro.routerPort, 'web.production.acme.localhost')).body).toContain('Hello, web, from a workspace package');
    expect(JSON.parse((await routerGet(maestro.routerPort, 'api.production.acme.localhost')).body)).toEqual({ service: 'api', ok: true });
  });

  it('maestro init writes a manifest for a plain Node app that deploys as is', async () => {
    const dir = await exampleCopy('node-hello');
    await rm(join(dir, 'maestro.yml'));
    const init = await cli(['init', dir]);
    expect(init.code, init.stderr).toBe(0);
    expect(init.stderr).toMatch(/detected/i);
    const validate = await cli(['validate', join(dir, 'maestro.yml')]);
    expect(validate.code, validate.stdout + validate.stderr).toBe(0);
    const result = await cli(['deploy', dir, '--json', '--project', 'inited'], maestro.env);
    expect(result.code, result.stderr).toBe(0);
    const { url } = JSON.parse(result.stdout) as { url: string };
    const host = new URL(url).hostname;
    expect((await routerGet(maestro.routerPort, host)).body).toContain('Hello from Maestro');
  });
});
