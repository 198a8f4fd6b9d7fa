import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';
import { createRouterClient, startRouter, type RouterClient, type RouterHandle } from '../../src/router/index.js';
import { acceptKey, decodeFrame, encodeFrame, openWebSocket, route, startUpstream, table, tempDir, waitFor, type Upstream } from './support.js';

const HOST = 'web.production.shop.localhost';
const TOKEN = 'sekret';

/** What the app saw of the closing of its WebSockets. */
interface AppSide {
  closeCodes: number[];
  /** Ignore close frames and never end: a peer the router must cut off. */
  deaf: boolean;
}

/**
 * An app whose WebSockets echo `name:text`; `half` makes it send the first half of a 200-byte message
 * and the rest only once the router's close frame has reached it, so closing must wait for that frame.
 */
function acceptSockets(upstream: Upstream, app: AppSide): void {
  upstream.server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${acceptKey(String(req.headers['sec-websocket-key']))}\r\n\r\n`);
    socket.on('error', () => socket.destroy());
    // A deaf app never answers a close frame; it only notices the connection closing.
    socket.on('end', () => (app.deaf ? socket.destroy() : socket.end()));
    let buffered = Buffer.alloc(0);
    let unsent: Buffer | undefined;
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (let frame = decodeFrame(buffered); frame; frame = decodeFrame(buffered)) {
        buffered = buffered.subarray(frame.length);
        if (frame.opcode === 0x8) {
          app.closeCodes.push(frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : 0);
          if (app.deaf) return;
          if (unsent) socket.write(unsent);
          socket.end(encodeFrame(frame.payload.subarray(0, 2), false, 0x8));
          return;
        }
        const text = frame.payload.toString('utf8');
        if (text === 'half') {
          const whole = encodeFrame(Buffer.from(`${upstream.name}:${'x'.repeat(200)}`), false);
          socket.write(whole.subarray(0, 60));
          unsent = whole.subarray(60);
        } else {
          socket.write(encodeFrame(Buffer.from(`${upstream.name}:${text}`), false));
        }
      }
    });
  });
}

describe('closing a revision\'s WebSockets through the admin API', () => {
  let dir: ReturnType<typeof tempDir>;
  let router: RouterHandle;
  let client: RouterClient;
  let appA: Upstream;
  let appB: Upstream;
  const sideA: AppSide = { closeCodes: [], deaf: false };
  const sideB: AppSide = { closeCodes: [], deaf: false };

  beforeAll(async () => {
    dir = tempDir();
    appA = await startUpstream('a');
    appB = await startUpstream('b');
    acceptSockets(appA, sideA);
    acceptSockets(appB, sideB);
    router = await startRouter({ port: 0, adminPort: 0, stateFile: join(dir.path, 'routes.json'), adminToken: TOKEN });
    client = createRouterClient({ adminUrl: `http://127.0.0.1:${router.adminPort}`, token: TOKEN });
    await client.putRoutes(
      table(1, [
        route(HOST, [{ revision: 'rev_a', weight: 100, upstreams: [appA.address] }]),
        route('api.production.shop.localhost', [{ revision: 'rev_b', weight: 100, upstreams: [appB.address] }]),
      ]),
    );
  });

  afterAll(async () => {
    await client.close();
    await router.close({ graceMs: 0 });
    await Promise.all([appA.close(), appB.close()]);
    dir.remove();
  });

  it('counts open WebSockets per revision in /stats and the /metrics gauge, then closes one revision\'s with 1001 on both sides', async () => {
    const onA = [await openWebSocket(router.port, HOST), await openWebSocket(router.port, HOST)];
    const onB = await openWebSocket(router.port, 'api.production.shop.localhost');
    for (const socket of [...onA, onB]) {
      socket.send('ping');
      expect(await socket.receive()).toMatch(/^[ab]:ping$/);
    }
    const stats = await client.stats();
    expect(stats.websockets).toMatchObject({ rev_a: 2, rev_b: 1 });
    const metrics = await (await request(`http://127.0.0.1:${router.adminPort}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).body.text();
    expect(metrics).toContain('maestro_router_websockets_open{project="shop",service="web",environment="production",revision="rev_a"} 2');

    expect(await client.closeWebsockets({ revision: 'rev_a', waitMs: 2_000 })).toEqual({ revision: 'rev_a', closed: 2 });
    for (const socket of onA) expect(await socket.ended).toEqual({ closeCode: 1001, closeReason: 'going away' });
    expect(sideA.closeCodes).toEqual([1001, 1001]);
    expect((await client.stats()).websockets).toMatchObject({ rev_a: 0, rev_b: 1 });
    // The other revision's socket is untouched.
    onB.send('still there');
    expect(await onB.receive()).toBe('b:still there');
    expect(await client.closeWebsockets({ revision: 'rev_a' })).toEqual({ revision: 'rev_a', closed: 0 });
    onB.close();
    await onB.ended;
  });

  it('lets a message under way finish before the close frame', async () => {
    sideA.closeCodes.length = 0;
    const socket = await openWebSocket(router.port, HOST);
    socket.send('half');
    await waitFor(async () => (await client.stats()).websockets.rev_a === 1);
    expect(await client.closeWebsockets({ revision: 'rev_a', waitMs: 2_000 })).toMatchObject({ closed: 1 });
    expect(await socket.receive()).toBe(`a:${'x'.repeat(200)}`);
    expect(await socket.ended).toEqual({ closeCode: 1001, closeReason: 'going away' });
    expect(sideA.closeCodes).toEqual([1001]);
  });

  it('cuts off a peer that does not answer the close once the wait is over', async () => {
    sideA.deaf = true;
    try {
      const socket = await openWebSocket(router.port, HOST);
      socket.send('hello');
      expect(await socket.receive()).toBe('a:hello');
      // The client gets the close frame and answers; the app never does: the router stops waiting on it.
      expect(await client.closeWebsockets({ revision: 'rev_a', waitMs: 200 })).toMatchObject({ closed: 1 });
      expect((await socket.ended).closeCode).toBe(1001);
      expect((await client.stats()).websockets.rev_a).toBe(0);
    } finally {
      sideA.deaf = false;
    }
  });

  it('closes only the sockets to the replicas named, and reports what is open per replica', async () => {
    const second = await startUpstream('a2');
    const sideSecond: AppSide = { closeCodes: [], deaf: false };
    acceptSockets(second, sideSecond);
    try {
      await client.putRoutes(table(2, [route(HOST, [{ revision: 'rev_a', weight: 100, upstreams: [appA.address, second.address] }])]));
      // Round robin: two sockets land one on each replica.
      const sockets = [await openWebSocket(router.port, HOST), await openWebSocket(router.port, HOST)];
      const names = await Promise.all(
        sockets.map(async (socket) => {
          socket.send('who');
          return (await socket.receive()).split(':')[0];
        }),
      );
      expect([...names].sort()).toEqual(['a', 'a2']);
      const { upstreams } = await client.stats();
      expect(upstreams[appA.address]).toEqual({ inFlight: 0, websockets: 1 });
      expect(upstreams[second.address]).toEqual({ inFlight: 0, websockets: 1 });

      expect(await client.closeWebsockets({ revision: 'rev_a', upstreams: [second.address] })).toMatchObject({ closed: 1 });
      expect(sideSecond.closeCodes).toEqual([1001]);
      const kept = sockets[names.indexOf('a')]!;
      kept.send('still');
      expect(await kept.receive()).toBe('a:still');
      expect((await client.stats()).upstreams[second.address]).toBeUndefined();
      kept.close();
      await kept.ended;
    } finally {
      await client.putRoutes(table(3, [route(HOST, [{ revision: 'rev_a', weight: 100, upstreams: [appA.address] }])]));
      await second.close();
    }
  });

  it('wants the token and a revision, and says what to send', async () => {
    const post = (body: unknown, authorization?: string) =>
      request(`http://127.0.0.1:${router.adminPort}/websockets/close`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
        body: JSON.stringify(body),
      });
    const anonymous = await post({ revision: 'rev_a' });
    expect(anonymous.statusCode).toBe(401);
    await anonymous.body.dump();
    const missing = await post({}, `Bearer ${TOKEN}`);
    expect(missing.statusCode).toBe(400);
    expect(((await missing.body.json()) as { error: { message: string } }).error.message).toMatch(/revision is required/);
    const wrongWait = await post({ revision: 'rev_a', waitMs: -5 }, `Bearer ${TOKEN}`);
    expect(wrongWait.statusCode).toBe(400);
    expect(((await wrongWait.body.json()) as { error: { message: string } }).error.message).toMatch(/waitMs is at least 0/);
    const wrongMethod = await request(`http://127.0.0.1:${router.adminPort}/websockets/close`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(wrongMethod.statusCode).toBe(400);
    await wrongMethod.body.dump();
  });
});
