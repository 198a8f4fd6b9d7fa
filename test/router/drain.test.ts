import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createRouterClient } from '../../src/router/index.js';
import { decideDrain, drainThroughRouter } from '../../src/server/revision-drain.js';
import { deadAddress } from './support.js';

describe('deciding how a retired revision drains', () => {
  const observation = fc.record({
    elapsedMs: fc.nat({ max: 120_000 }),
    inFlight: fc.nat({ max: 5 }),
    websockets: fc.nat({ max: 5 }),
  });

  it('property: waits only while something is open and the drain time lasts; closes WebSockets only when they outlast it', () => {
    fc.assert(
      fc.property(observation, fc.nat({ max: 60_000 }), (seen, drainMs) => {
        const step = decideDrain(seen, drainMs);
        const open = seen.inFlight > 0 || seen.websockets > 0;
        const timeLeft = seen.elapsedMs < drainMs;
        expect(step.kind === 'wait').toBe(open && timeLeft);
        expect(step.kind === 'close_websockets').toBe(!timeLeft && seen.websockets > 0);
        expect(step.kind === 'stop').toBe(seen.websockets === 0 && (!timeLeft || seen.inFlight === 0));
      }),
    );
  });

  it('waits for HTTP first, then gives WebSockets the rest of the time, then has them closed', () => {
    expect(decideDrain({ elapsedMs: 10, inFlight: 2, websockets: 1 }, 1_000)).toEqual({ kind: 'wait' });
    expect(decideDrain({ elapsedMs: 400, inFlight: 0, websockets: 1 }, 1_000)).toEqual({ kind: 'wait' });
    expect(decideDrain({ elapsedMs: 1_000, inFlight: 0, websockets: 1 }, 1_000)).toEqual({ kind: 'close_websockets' });
    expect(decideDrain({ elapsedMs: 50, inFlight: 0, websockets: 0 }, 1_000)).toEqual({ kind: 'stop' });
    // No drain time: WebSockets are closed straight away.
    expect(decideDrain({ elapsedMs: 0, inFlight: 0, websockets: 3 }, 0)).toEqual({ kind: 'close_websockets' });
  });
});

describe('draining against a router that cannot answer', () => {
  let silent: Server;
  let silentPort: number;
  const accepted = new Set<Socket>();

  beforeAll(async () => {
    // Accepts connections and never answers: a hung router.
    silent = createServer((socket) => accepted.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    silentPort = (silent.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });

  it('gives up at once on a router that refuses connections', async () => {
    const client = createRouterClient({ adminUrl: `http://${await deadAddress()}` });
    try {
      const report = await drainThroughRouter(client, { revision: 'rev_a' }, 30_000);
      expect(report.outcome).toBe('router_unreachable');
      expect(report.error).toMatch(/not reachable/);
      expect(report.waitedMs).toBeLessThan(30_000);
    } finally {
      await client.close();
    }
  });

  it('does not wait on a hung router longer than the drain time', async () => {
    const client = createRouterClient({ adminUrl: `http://127.0.0.1:${silentPort}`, timeoutMs: 60_000 });
    try {
      const report = await drainThroughRouter(client, { revision: 'rev_a' }, 400);
      expect(report.outcome).toBe('router_unreachable');
      expect(report.error).toMatch(/no answer within/);
      // The call gets what is left of the drain time (at least a quarter second), not the client's minute.
      expect(report.waitedMs).toBeLessThan(5_000);
    } finally {
      // The abandoned call is still waiting on the hung router; end it so the client can close.
      for (const socket of accepted) socket.destroy();
      await client.close().catch(() => undefined);
    }
  });
});
