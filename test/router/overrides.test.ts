import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { createRouterClient, startRouter, type Backend, type RouterClient, type RouterHandle } from '../../src/router/index.js';
import { acceptWebSockets, keepAliveAgent, openWebSocket, route, send, startUpstream, table, tempDir, type Upstream } from './support.js';

const HOST = 'web.production.shop.localhost';

/** What a browser would send back for the `Set-Cookie` answers it got. */
function cookieFrom(setCookie: string | string[] | undefined): string {
  const lines = setCookie === undefined ? [] : Array.isArray(setCookie) ? setCookie : [setCookie];
  const sticky = lines.find((line) => line.startsWith('maestro-sticky='));
  if (!sticky) throw new Error(`no maestro-sticky cookie in ${JSON.stringify(setCookie)}`);
  return sticky.split(';')[0]!;
}

describe('revision overrides and sticky assignment through the router', () => {
  let dir: ReturnType<typeof tempDir>;
  let router: RouterHandle;
  let client: RouterClient;
  let stable: Upstream;
  let canary: Upstream;
  let version = 1;

  const split = (stableWeight: number, sticky: boolean): Promise<unknown> => {
    const backends: Backend[] = [
      { revision: 'rev_stable', weight: stableWeight, upstreams: [stable.address], role: 'stable' },
      { revision: 'rev_canary', weight: 100 - stableWeight, upstreams: [canary.address], role: 'canary' },
    ];
    return client.putRoutes(table(++version, [route(HOST, backends, sticky ? { sticky: true } : {})]));
  };
  const revisionOf = async (headers: Record<string, string>): Promise<string> => String((await send(router.port, HOST, { headers })).headers['x-maestro-revision']);

  beforeAll(async () => {
    dir = tempDir();
    stable = await startUpstream('stable');
    // The canary sets a cookie of its own: the router's must come beside it, not instead of it.
    canary = await startUpstream('canary', (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': 'session=abc; Path=/' });
      res.end(JSON.stringify({ revision: 'canary', cookie: req.headers.cookie ?? null }));
    });
    acceptWebSockets(stable);
    acceptWebSockets(canary);
    router = await startRouter({ port: 0, adminPort: 0, stateFile: join(dir.path, 'routes.json'), adminToken: 'sekret' });
    client = createRouterClient({ adminUrl: `http://127.0.0.1:${router.adminPort}`, token: 'sekret' });
  });

  afterAll(async () => {
    await client.close();
    await router.close({ graceMs: 0 });
    await Promise.all([stable.close(), canary.close()]);
    keepAliveAgent.destroy();
    dir.remove();
  });

  it('sends a tester to the canary at 1% by cookie or header, the header winning, and passes the cookie on to the app', async () => {
    await split(99, false);
    for (let index = 0; index < 10; index++) expect(await revisionOf({ cookie: 'maestro-revision=canary' })).toBe('rev_canary');
    for (let index = 0; index < 10; index++) expect(await revisionOf({ 'x-maestro-revision': 'canary' })).toBe('rev_canary');
    for (let index = 0; index < 10; index++) expect(await revisionOf({ 'x-maestro-revision': 'stable', cookie: 'maestro-revision=canary' })).toBe('rev_stable');
    const answer = await send(router.port, HOST, { headers: { cookie: 'theme=dark; maestro-revision=rev_canary' } });
    expect(JSON.parse(answer.body)).toEqual({ revision: 'canary', cookie: 'theme=dark; maestro-revision=rev_canary' });
    // Not sticky: no assignment is made.
    expect(answer.headers['set-cookie']).toEqual(['session=abc; Path=/']);
  });

  it('keeps each client of a sticky route on its first revision through a weight change, then moves everybody to the promoted one', async () => {
    await split(50, true);
    const clients: Array<{ cookie: string; revision: string }> = [];
    for (let index = 0; index < 16; index++) {
      const first = await send(router.port, HOST);
      clients.push({ cookie: cookieFrom(first.headers['set-cookie']), revision: String(first.headers['x-maestro-revision']) });
      expect(clients.at(-1)!.cookie).toBe(`maestro-sticky=${clients.at(-1)!.revision}`);
    }
    // 16 draws at 50%: both sides are (almost surely) represented; each client stays put, at 50% and at 90%.
    expect(new Set(clients.map((entry) => entry.revision)).size).toBe(2);
    for (const canaryWeight of [50, 90]) {
      await split(100 - canaryWeight, true);
      for (const entry of clients) {
        const again = await send(router.port, HOST, { headers: { cookie: `theme=dark; ${entry.cookie}` } });
        expect(again.headers['x-maestro-revision']).toBe(entry.revision);
        expect(String(again.headers['set-cookie'] ?? '')).not.toContain('maestro-sticky');
      }
    }
    // The canary's own cookie and the router's assignment both reach a new client.
    const fresh = await send(router.port, HOST, { headers: { 'x-maestro-revision': 'nonsense' } });
    if (fresh.headers['x-maestro-revision'] === 'rev_canary') expect(fresh.headers['set-cookie']).toContain('session=abc; Path=/');

    // Promoted: the canary alone, the route no longer sticky. Everybody lands there and loses the cookie.
    await client.putRoutes(table(++version, [route(HOST, [{ revision: 'rev_canary', weight: 100, upstreams: [canary.address] }])]));
    for (const entry of clients) {
      const after = await send(router.port, HOST, { headers: { cookie: entry.cookie } });
      expect(after.headers['x-maestro-revision']).toBe('rev_canary');
      expect(after.headers['set-cookie']).toContainEqual(expect.stringMatching(/^maestro-sticky=;.*Max-Age=0/));
    }
  });

  it('sends everybody back to the stable revision on a rollback, reassigning sticky clients of a later rollout', async () => {
    await split(50, true);
    // A client assigned to a revision the route no longer has is assigned again and its cookie replaced.
    const stale = await send(router.port, HOST, { headers: { cookie: 'maestro-sticky=rev_gone' } });
    expect(cookieFrom(stale.headers['set-cookie'])).toBe(`maestro-sticky=${String(stale.headers['x-maestro-revision'])}`);
    await client.putRoutes(table(++version, [route(HOST, [{ revision: 'rev_stable', weight: 100, upstreams: [stable.address] }])]));
    for (const cookie of ['maestro-sticky=rev_canary', 'maestro-sticky=rev_stable', '']) {
      expect(await revisionOf(cookie ? { cookie } : {})).toBe('rev_stable');
    }
  });

  it('honours the cookies on WebSocket upgrades and assigns a sticky client in the handshake answer', async () => {
    await split(99, true);
    const pinned = await openWebSocket(router.port, HOST, '/socket', { cookie: 'maestro-revision=canary' });
    expect(pinned.status).toBe(101);
    pinned.send('hi');
    expect(await pinned.receive()).toBe('canary:hi');
    pinned.socket.destroy();

    const assigned = await openWebSocket(router.port, HOST, '/socket', { cookie: 'maestro-sticky=rev_canary' });
    assigned.send('hi');
    expect(await assigned.receive()).toBe('canary:hi');
    expect(assigned.responseHead).not.toMatch(/set-cookie/i);
    assigned.socket.destroy();

    const fresh = await openWebSocket(router.port, HOST);
    expect(fresh.status).toBe(101);
    const revision = /x-maestro-revision: (\S+)/.exec(fresh.responseHead)![1];
    expect(fresh.responseHead).toContain(`set-cookie: maestro-sticky=${revision}; Path=/;`);
    fresh.socket.destroy();
  });
});
