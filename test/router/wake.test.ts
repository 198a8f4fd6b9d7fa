import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRouterClient, startRouter, type RouterClient, type RouterHandle } from '../../src/router/index.js';
import { route, send, startUpstream, table, tempDir, type Upstream } from './support.js';

const HOST = 'web.pr-7.shop.localhost';

describe('a sleeping environment wakes on its first request', () => {
  let dir: ReturnType<typeof tempDir>;
  let router: RouterHandle;
  let client: RouterClient;
  let controlPlane: Server;
  let wakeUrl: string;
  const asks: Array<{ host: string; authorization: string | undefined }> = [];
  let app: Upstream | undefined;
  let version = 1;
  /** What the control plane does when asked: start the app, then push a table that serves it. */
  let onWake: () => Promise<void> = async () => {};

  beforeAll(async () => {
    dir = tempDir();
    controlPlane = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        asks.push({ host: (JSON.parse(body) as { host: string }).host, authorization: req.headers.authorization });
        res.writeHead(202).end();
        void onWake();
      });
    });
    await new Promise<void>((resolve) => controlPlane.listen(0, '127.0.0.1', resolve));
    wakeUrl = `http://127.0.0.1:${(controlPlane.address() as AddressInfo).port}/v1/router/wake`;
    router = await startRouter({ port: 0, adminPort: 0, stateFile: join(dir.path, 'routes.json'), adminToken: 'sekret', wakeWaitMs: 3_000 });
    client = createRouterClient({ adminUrl: `http://127.0.0.1:${router.adminPort}`, token: 'sekret' });
  });

  afterAll(async () => {
    await client.close();
    await router.close({ graceMs: 0 });
    await app?.close();
    await new Promise<void>((resolve) => controlPlane.close(() => resolve()));
    dir.remove();
  });

  const sleeping = () => client.putRoutes(table(++version, [route(HOST, [], { wakeUrl, unavailableReason: 'asleep' })]));

  it('holds the request, asks the control plane once with the admin token, and answers from the woken app', async () => {
    await sleeping();
    onWake = async () => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      app = await startUpstream('woken');
      await client.putRoutes(table(++version, [route(HOST, [{ revision: 'rev_1', weight: 100, upstreams: [app.address] }])]));
    };
    const answers = await Promise.all([send(router.port, HOST), send(router.port, HOST), send(router.port, HOST, { path: '/second' })]);
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body)).toMatchObject({ revision: 'woken' });
    }
    expect(asks).toEqual([{ host: HOST, authorization: 'Bearer sekret' }]);
    const stats = await client.stats();
    expect(stats.heldForWake).toBe(0);
    expect(stats.lastRequestAt[HOST]).toBeGreaterThan(Date.now() - 10_000);
  });

  it('answers 503 saying so when the environment does not wake in time', async () => {
    await sleeping();
    onWake = async () => {};
    const started = Date.now();
    const answer = await send(router.port, HOST);
    expect(answer.status).toBe(503);
    expect(answer.body).toContain('did not wake up in time');
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_900);
  });

  it('answers a route without a wake URL and without replicas at once, as before', async () => {
    await client.putRoutes(table(++version, [route(HOST, [], { unavailableReason: 'no replicas' })]));
    const started = Date.now();
    expect((await send(router.port, HOST)).status).toBe(503);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
