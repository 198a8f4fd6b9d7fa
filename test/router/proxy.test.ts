import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { createRouterClient, startRouter, type RouterClient, type RouterHandle } from '../../src/router/index.js';
import { MaestroError } from '../../src/common/index.js';
import { acceptWebSockets, deadAddress, keepAliveAgent, openWebSocket, route, send, startUpstream, table, tempDir, waitFor, type Upstream } from './support.js';

const HOST = 'web.production.shop.localhost';

describe('router proxy', () => {
  let dir: ReturnType<typeof tempDir>;
  let router: RouterHandle;
  let client: RouterClient;
  let v1: Upstream;
  let v2: Upstream;
  let version = 1;

  const push = (routes: Parameters<typeof table>[1]) => client.putRoutes(table(++version, routes));

  beforeAll(async () => {
    dir = tempDir();
    v1 = await startUpstream('v1');
    v2 = await startUpstream('v2');
    acceptWebSockets(v1);
    router = await startRouter({ port: 0, adminPort: 0, stateFile: join(dir.path, 'routes.json'), upstreamTimeoutMs: 1_500, adminToken: 'sekret' });
    client = createRouterClient({ adminUrl: `http://127.0.0.1:${router.adminPort}`, token: 'sekret' });
  });

  afterAll(async () => {
    await client.close();
    await router.close({ graceMs: 0 });
    await Promise.all([v1.close(), v2.close()]);
    keepAliveAgent.destroy();
    dir.remove();
  });

  it('routes by Host (port and case ignored) and tags the answer with the revision and a request id', async () => {
    await push([route(HOST, [{ revision: 'r1', weight: 100, upstreams: [v1.address] }]), route('api.production.shop.localhost', [{ revision: 'r2', weight: 100, upstreams: [v2.address] }])]);
    const web = await send(router.port, `WEB.Production.shop.localhost:${router.port}`, { path: '/hello?x=1' });
    expect(web.status).toBe(200);
    expect(web.headers['x-maestro-revision']).toBe('r1');
    const seen = JSON.parse(web.body) as { revision: string; url: string; headers: Record<string, string> };
    expect(seen.revision).toBe('v1');
    expect(seen.url).toBe('/hello?x=1');
    expect(seen.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(web.headers['x-request-id']).toBe(seen.headers['x-request-id']);
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers['x-forwarded-host']).toBe(`WEB.Production.shop.localhost:${router.port}`);

    const head = await send(router.port, HOST, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(Number(head.headers['content-length'])).toBeGreaterThan(0);

    const api = await send(router.port, 'api.production.shop.localhost', { headers: { 'x-request-id': 'trace-42' } });
    expect(JSON.parse(api.body).revision).toBe('v2');
    expect(JSON.parse(api.body).headers['x-request-id']).toBe('trace-42');
    expect(api.headers['x-maestro-revision']).toBe('r2');
  });

  it('strips hop-by-hop headers in both directions', async () => {
    const proxied = await startUpstream('hop', (req, res) => {
      res.writeHead(200, { 'x-secret-hop': 'no', connection: 'x-secret-hop', 'x-kept': 'yes', 'content-type': 'application/json' });
      res.end(JSON.stringify(req.headers));
    });
    try {
      await push([route(HOST, [{ revision: 'hop', weight: 100, upstreams: [proxied.address] }])]);
      const answer = await send(router.port, HOST, { headers: { connection: 'keep-alive, x-drop-me', 'x-drop-me': '1', 'proxy-authorization': 'Basic x', te: 'trailers' } });
      const received = JSON.parse(answer.body) as Record<string, string>;
      expect(received['x-drop-me']).toBeUndefined();
      expect(received['proxy-authorization']).toBeUndefined();
      expect(received.te).toBeUndefined();
      expect(answer.headers['x-secret-hop']).toBeUndefined();
      expect(answer.headers['x-kept']).toBe('yes');
    } finally {
      await proxied.close();
    }
  });

  it('splits traffic 70/30 by weight and honours the x-maestro-revision override', async () => {
    await push([route(HOST, [{ revision: 'r1', weight: 70, upstreams: [v1.address] }, { revision: 'r2', weight: 30, upstreams: [v2.address] }])]);
    const counts: Record<string, number> = {};
    const total = 2000;
    for (let batch = 0; batch < total / 50; batch++) {
      const answers = await Promise.all(Array.from({ length: 50 }, () => send(router.port, HOST)));
      for (const answer of answers) counts[String(answer.headers['x-maestro-revision'])] = (counts[String(answer.headers['x-maestro-revision'])] ?? 0) + 1;
    }
    // Binomial(2000, 0.3): standard deviation ~20.5; 100 is ~5 of them.
    expect(Math.abs((counts.r2 ?? 0) - 600)).toBeLessThan(100);
    expect((counts.r1 ?? 0) + (counts.r2 ?? 0)).toBe(total);

    const pinned = await Promise.all(Array.from({ length: 20 }, () => send(router.port, HOST, { headers: { 'x-maestro-revision': 'r2' } })));
    expect(pinned.every((answer) => answer.headers['x-maestro-revision'] === 'r2')).toBe(true);
  });

  it('reuses upstream connections instead of opening one per request', async () => {
    const app = await startUpstream('keepalive');
    try {
      await push([route(HOST, [{ revision: 'ka', weight: 100, upstreams: [app.address] }])]);
      for (let index = 0; index < 100; index++) expect((await send(router.port, HOST)).status).toBe(200);
      expect(app.requests.length).toBe(100);
      expect(app.connections()).toBeLessThanOrEqual(2);
    } finally {
      await app.close();
    }
  });

  it('answers 404 with a page that explains how hosts are formed, in HTML or JSON', async () => {
    const html = await send(router.port, 'nope.production.shop.localhost');
    expect(html.status).toBe(404);
    expect(html.headers['content-type']).toMatch(/text\/html/);
    expect(html.body).toContain('No service is deployed at nope.production.shop.localhost');
    expect(html.body).toContain('&#60;service&#62;.&#60;environment&#62;.&#60;project&#62;.localhost');
    const json = await send(router.port, 'nope.production.shop.localhost', { headers: { accept: 'application/json' } });
    expect(json.status).toBe(404);
    expect(JSON.parse(json.body).error).toMatchObject({ code: 'no_route', message: expect.stringContaining('nope.production.shop.localhost') });
    expect(JSON.parse(json.body).error.hint).toContain('<service>.<environment>.<project>.localhost');
  });

  it('answers 503 with the reason and Retry-After when nothing healthy serves the route', async () => {
    await push([route(HOST, [], { unavailableReason: 'revision r9 is failing its health checks' })]);
    const answer = await send(router.port, HOST);
    expect(answer.status).toBe(503);
    expect(answer.headers['retry-after']).toBe('1');
    expect(answer.body).toContain('revision r9 is failing its health checks');
    await push([route(HOST, [])]);
    const empty = await send(router.port, HOST, { headers: { accept: 'application/json' } });
    expect(empty.status).toBe(503);
    expect(JSON.parse(empty.body).error.code).toBe('unavailable');
  });

  it('retries a refused connection once on another upstream of the same revision, else answers 502', async () => {
    const dead = await deadAddress();
    await push([route(HOST, [{ revision: 'r1', weight: 100, upstreams: [dead, v1.address] }])]);
    for (let index = 0; index < 6; index++) {
      const answer = await send(router.port, HOST);
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body).revision).toBe('v1');
    }
    // An idempotent upload is replayed too: the router holds the body back until a connection is up.
    const puts = await Promise.all(Array.from({ length: 4 }, (_, index) => send(router.port, HOST, { method: 'PUT', body: `payload-${index}` })));
    expect(puts.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
    expect(puts.map((answer) => JSON.parse(answer.body).body)).toEqual(['payload-0', 'payload-1', 'payload-2', 'payload-3']);
    // Not idempotent: a POST is not replayed, since the app may have acted on it.
    const posts = await Promise.all(Array.from({ length: 4 }, () => send(router.port, HOST, { method: 'POST', body: 'x' })));
    expect(posts.map((answer) => answer.status).sort()).toEqual([200, 200, 502, 502]);

    await push([route(HOST, [{ revision: 'r1', weight: 100, upstreams: [dead] }])]);
    const failed = await send(router.port, HOST);
    expect(failed.status).toBe(502);
    expect(failed.headers['x-maestro-revision']).toBe('r1');
    expect(failed.body).toContain('Revision r1 of web.production.shop.localhost could not be reached (connection refused)');
  });

  it('answers 504 when the upstream stays silent past the timeout', async () => {
    const slow = await startUpstream('slow', () => {
      /* never answers */
    });
    try {
      await push([route(HOST, [{ revision: 'slow', weight: 100, upstreams: [slow.address] }])]);
      const started = Date.now();
      const answer = await send(router.port, HOST, { headers: { accept: 'application/json' } });
      expect(answer.status).toBe(504);
      expect(JSON.parse(answer.body).error.code).toBe('gateway_timeout');
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);
    } finally {
      await slow.close();
    }
  });

  it('streams a 20 MB upload and download without buffering them whole', async () => {
    const size = 20 * 1024 * 1024;
    const echo = await startUpstream('echo', (req, res) => {
      const hash = createHash('sha256');
      let received = 0;
      req.on('data', (chunk: Buffer) => {
        received += chunk.length;
        hash.update(chunk);
      });
      req.on('end', () => {
        res.writeHead(200, { 'x-received': String(received), 'x-sha256': hash.digest('hex') });
        // Answer with 20 MB written in 64 KiB pieces, respecting backpressure.
        const piece = Buffer.alloc(64 * 1024, 7);
        let sent = 0;
        const write = (): void => {
          while (sent < size) {
            sent += piece.length;
            if (!res.write(piece)) {
              res.once('drain', write);
              return;
            }
          }
          res.end();
        };
        write();
      });
    });
    try {
      await push([route(HOST, [{ revision: 'echo', weight: 100, upstreams: [echo.address] }])]);
      const upload = Buffer.alloc(size, 3);
      const result = await new Promise<{ status: number; received: string; sha: string; downloaded: number; firstByteBeforeEnd: boolean }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: router.port, method: 'POST', path: '/upload', headers: { host: HOST, 'transfer-encoding': 'chunked' } }, (res) => {
          let downloaded = 0;
          let chunks = 0;
          res.on('data', (chunk: Buffer) => {
            downloaded += chunk.length;
            chunks += 1;
          });
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, received: String(res.headers['x-received']), sha: String(res.headers['x-sha256']), downloaded, firstByteBeforeEnd: chunks > 1 }),
          );
          res.on('error', reject);
        });
        req.on('error', reject);
        // Chunked, in pieces, so the router can't know the length up front.
        for (let offset = 0; offset < size; offset += 1024 * 1024) req.write(upload.subarray(offset, offset + 1024 * 1024));
        req.end();
      });
      expect(result.status).toBe(200);
      expect(result.received).toBe(String(size));
      expect(result.sha).toBe(createHash('sha256').update(upload).digest('hex'));
      expect(result.downloaded).toBe(size);
      expect(result.firstByteBeforeEnd).toBe(true);
    } finally {
      await echo.close();
    }
  });

  it('passes body bytes on as they come, in both directions (no store-and-forward)', async () => {
    // Each side only sends its second half after the other side has seen the first: a proxy that
    // buffered whole bodies would deadlock here.
    let upstreamGotFirst: () => void = () => {};
    const firstArrived = new Promise<void>((resolve) => (upstreamGotFirst = resolve));
    let clientGotFirst: () => void = () => {};
    const firstReturned = new Promise<void>((resolve) => (clientGotFirst = resolve));
    const app = await startUpstream('stream', (req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => {
        body += chunk;
        if (body.includes('first-half')) upstreamGotFirst();
      });
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write(`got:${body}|first-answer|`);
        void firstReturned.then(() => res.end('second-answer'));
      });
    });
    try {
      await push([route(HOST, [{ revision: 'stream', weight: 100, upstreams: [app.address] }])]);
      const text = await new Promise<string>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: router.port, method: 'POST', path: '/', headers: { host: HOST, 'transfer-encoding': 'chunked' } }, (res) => {
          let received = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            received += chunk;
            if (received.includes('first-answer')) clientGotFirst();
          });
          res.on('end', () => resolve(received));
        });
        req.on('error', reject);
        req.write('first-half,');
        void firstArrived.then(() => req.end('second-half'));
      });
      expect(text).toBe('got:first-half,second-half|first-answer|second-answer');
    } finally {
      await app.close();
    }
  });

  it('lets a request in flight to a removed revision finish, and reports it in flight until then', async () => {
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    const old = await startUpstream('old', (_req, res) => {
      void released.then(() => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('old finished');
      });
    });
    try {
      await push([route(HOST, [{ revision: 'old', weight: 100, upstreams: [old.address] }])]);
      const slowRequest = send(router.port, HOST, { agent: false });
      await waitFor(async () => (await client.stats()).inFlight.old === 1);
      await push([route(HOST, [{ revision: 'r2', weight: 100, upstreams: [v2.address] }])]);
      expect((await send(router.port, HOST)).headers['x-maestro-revision']).toBe('r2');
      const during = await client.stats();
      expect(during.inFlight.old).toBe(1);
      // Also per replica, for draining one replica of a revision that serves on.
      expect(during.upstreams[old.address]).toEqual({ inFlight: 1, websockets: 0 });
      release();
      const answer = await slowRequest;
      expect(answer.status).toBe(200);
      expect(answer.body).toBe('old finished');
      expect(answer.headers['x-maestro-revision']).toBe('old');
      await waitFor(async () => (await client.stats()).inFlight.old === 0);
      expect((await client.stats()).upstreams[old.address]).toBeUndefined();
    } finally {
      await old.close();
    }
  });

  it('proxies a WebSocket upgrade, echoes through it and counts it', async () => {
    await push([route(HOST, [{ revision: 'ws', weight: 100, upstreams: [v1.address] }])]);
    const socket = await openWebSocket(router.port, HOST);
    expect(socket.status).toBe(101);
    expect(socket.responseHead.toLowerCase()).toContain('x-maestro-revision: ws');
    socket.send('hello');
    expect(await socket.receive()).toBe('v1:hello');
    socket.send('again');
    expect(await socket.receive()).toBe('v1:again');
    const during = (await client.stats()).revisions.find((stats) => stats.revision === 'ws');
    expect(during).toMatchObject({ websocketsTotal: 1, websocketsOpen: 1 });
    socket.close();
    await waitFor(async () => (await client.stats()).revisions.find((stats) => stats.revision === 'ws')?.websocketsOpen === 0);

    const missing = await openWebSocket(router.port, 'ghost.production.shop.localhost');
    expect(missing.status).toBe(404);
    missing.socket.destroy();

    // A dead replica is stepped over like for plain requests; with none alive the handshake gets a 502.
    const dead = await deadAddress();
    await push([route(HOST, [{ revision: 'ws', weight: 100, upstreams: [dead, v1.address] }])]);
    for (let index = 0; index < 2; index++) {
      const retried = await openWebSocket(router.port, HOST);
      expect(retried.status).toBe(101);
      retried.send('ping');
      expect(await retried.receive()).toBe('v1:ping');
      retried.socket.destroy();
    }
    await push([route(HOST, [{ revision: 'ws', weight: 100, upstreams: [dead] }])]);
    const refused = await openWebSocket(router.port, HOST);
    expect(refused.status).toBe(502);
    refused.socket.destroy();
  });

  it('measures revisions: stats with a window and Prometheus text', async () => {
    const flaky = await startUpstream('flaky', (req, res) => {
      res.writeHead(req.url === '/boom' ? 500 : 200);
      res.end();
    });
    try {
      await push([route('metrics.production.shop.localhost', [{ revision: 'm1', weight: 100, upstreams: [flaky.address] }])]);
      for (let index = 0; index < 8; index++) await send(router.port, 'metrics.production.shop.localhost');
      for (let index = 0; index < 2; index++) await send(router.port, 'metrics.production.shop.localhost', { path: '/boom' });
      const stats = await client.stats(30_000);
      expect(stats.windowMs).toBe(30_000);
      const m1 = stats.revisions.find((revision) => revision.revision === 'm1')!;
      expect(m1).toMatchObject({ project: 'shop', service: 'metrics', environment: 'production', requests: 10, inFlight: 0 });
      expect(m1.byClass).toEqual({ '2xx': 8, '3xx': 0, '4xx': 0, '5xx': 2 });
      expect(m1.window).toMatchObject({ count: 10, errors5xx: 2, errorRate: 0.2 });
      expect(m1.window.p50).toBeGreaterThanOrEqual(0);
      expect(m1.latency.cumulative.at(-1)).toBe(10);

      const metrics = await fetchText(`http://127.0.0.1:${router.adminPort}/metrics`, { authorization: 'Bearer sekret' });
      const labels = 'project="shop",service="metrics",environment="production",revision="m1"';
      expect(metrics).toContain(`maestro_router_requests_total{${labels},code_class="2xx"} 8`);
      expect(metrics).toContain(`maestro_router_requests_total{${labels},code_class="5xx"} 2`);
      expect(metrics).toContain(`maestro_router_request_duration_seconds_bucket{${labels},le="+Inf"} 10`);
      expect(metrics).toContain(`maestro_router_request_duration_seconds_bucket{${labels},le="0.001"}`);
      expect(metrics).toContain(`maestro_router_requests_in_flight{${labels}} 0`);
      expect(metrics).toContain(`http_requests_total{${labels},code="500"} 2`);
      expect(metrics).toMatch(/maestro_router_unrouted_requests_total\{reason="no_route"\} [1-9]/);
    } finally {
      await flaky.close();
    }
  });

  it('guards the admin API with the token, except /healthz', async () => {
    const anonymous = createRouterClient({ adminUrl: `http://127.0.0.1:${router.adminPort}` });
    try {
      expect(await anonymous.health()).toMatchObject({ ok: true, version });
      await expect(anonymous.getRoutes()).rejects.toMatchObject({ code: 'unauthorized' });
      const wrong = createRouterClient({ adminUrl: `http://127.0.0.1:${router.adminPort}`, token: 'guess' });
      await expect(wrong.stats()).rejects.toMatchObject({ code: 'unauthorized' });
      await wrong.close();
    } finally {
      await anonymous.close();
    }
  });

  it('refuses older tables with 409, malformed ones with 400 and details, and repeats harmlessly', async () => {
    const current = await client.getRoutes();
    expect(current.version).toBe(version);
    await expect(client.putRoutes(table(version - 1, []))).rejects.toMatchObject({ code: 'conflict', message: expect.stringContaining('older than the version being served') });
    await expect(client.putRoutes({ ...current, routes: [] })).rejects.toMatchObject({ code: 'conflict' });
    expect(await client.putRoutes(current)).toEqual({ version, routes: current.routes.length, changed: false });
    const invalid = client.putRoutes(table(version + 1, [route(HOST, [{ revision: 'r1', weight: 50, upstreams: [v1.address] }])]));
    await expect(invalid).rejects.toBeInstanceOf(MaestroError);
    await expect(invalid).rejects.toMatchObject({
      code: 'validation_error',
      details: { problems: [{ path: 'routes.0.backends', message: expect.stringContaining('sum to 50') }] },
    });
    const raw = await fetchText(`http://127.0.0.1:${router.adminPort}/routes`, { authorization: 'Bearer sekret' }, 'PUT', '{not json');
    expect(raw).toContain('not valid JSON');
    expect((await client.getRoutes()).version).toBe(version);
  });
});

function fetchText(url: string, headers: Record<string, string>, method = 'GET', body?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    req.end(body);
  });
}
