import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ContentStore } from '../../src/build/index.js';
import { composeRouteTable } from '../../src/rollout/index.js';
import { Agent, type ReplicaStatus } from '../../src/runtime/index.js';
import { dataPaths, stopRouterProcess, type DataPaths } from '../../src/server/index.js';
import { RevisionRunner } from '../../src/server/revisions.js';
import { ensureRouter, type RunningRouter } from '../../src/server/router-process.js';
import { keepAliveAgent, openWebSocket, route, send, table, waitFor } from '../router/support.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const HOST = 'web.production.shop.localhost';
const DRAIN_MS = 1_500;

/**
 * A revision being retired through the control plane's path (RevisionRunner.stop with the router's
 * admin client), with the real router process and real replicas: HTTP in flight finishes, open
 * WebSockets keep working until the drain time is over and are then closed by the router with 1001,
 * and only then do the replicas stop; new connections go to the new revision from the first moment.
 */
describe('retiring a revision that serves WebSockets', () => {
  let dataDir: string;
  let paths: DataPaths;
  let router: RunningRouter;
  let agent: Agent;
  let runner: RevisionRunner;

  const startReplica = async (revisionId: string, name: string, number = 1): Promise<ReplicaStatus> => {
    const replica = await agent.start({
      id: `${revisionId}-${number}`,
      revisionId,
      cwd: FIXTURES,
      command: `exec "${process.execPath}" websocket-app.mjs`,
      env: { APP_NAME: name },
      health: { path: '/healthz', intervalMs: 100, timeoutMs: 500, healthyThreshold: 1, unhealthyThreshold: 3 },
    });
    return agent.waitHealthy(replica.id, 10_000);
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'maestro-drain-'));
    paths = dataPaths(dataDir);
    router = await ensureRouter(paths, { port: 0, adminPort: 0, host: '127.0.0.1' });
    agent = new Agent({ stateDir: paths.agentState, logDir: paths.replicaLogs });
    // What the route sync does: the table from the healthy replicas, leaving out those being retired.
    let version = 100;
    const publishRoutes = (): Promise<unknown> => {
      const serving = agent.list().filter((replica) => replica.revisionId === 'rev_rolling');
      const replicas = serving.map((replica) => ({ revisionId: replica.revisionId, port: replica.port, healthy: replica.state === 'healthy' && !runner.isRetiring(replica.id) }));
      const live = [{ project: 'shop', service: 'api', environment: 'production', weights: [{ revisionId: 'rev_rolling', weight: 100 }] }];
      return router.client.putRoutes(composeRouteTable(live, replicas, ++version));
    };
    runner = new RevisionRunner(agent, new ContentStore(paths.artifacts), paths.revisions, { router: () => router.client, publishRoutes });
  }, 30_000);

  afterAll(async () => {
    keepAliveAgent.destroy();
    await agent?.shutdown({ stopReplicas: true, graceMs: 500 });
    await router?.client.close();
    if (paths) await stopRouterProcess(paths);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('finishes HTTP in flight, keeps WebSockets until the drain ends, closes them with 1001, then stops the replicas', async () => {
    const [a, b] = await Promise.all([startReplica('rev_a', 'a'), startReplica('rev_b', 'b')]);
    await router.client.putRoutes(table(1, [route(HOST, [{ revision: 'rev_a', weight: 100, upstreams: [`127.0.0.1:${a.port}`] }])]));
    const port = router.info.port;

    const socketToA = await openWebSocket(port, HOST);
    socketToA.send('hello');
    expect(await socketToA.receive()).toBe('a:hello');
    let closedAt = 0;
    const closing = socketToA.ended.then((ended) => {
      closedAt = Date.now();
      return ended;
    });
    const slowToA = send(port, HOST, { path: '/slow?ms=600', agent: false });
    await waitFor(async () => (await router.client.stats()).inFlight.rev_a === 1);

    // Steady traffic through the whole cutover: not one request may fail.
    const failures: string[] = [];
    let loading = true;
    const load = (async () => {
      while (loading) {
        const answer = await send(port, HOST).catch((error: Error) => ({ status: 0, body: error.message }));
        if (answer.status !== 200) failures.push(`${answer.status} ${answer.body}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();

    await router.client.putRoutes(table(2, [route(HOST, [{ revision: 'rev_b', weight: 100, upstreams: [`127.0.0.1:${b.port}`] }])]));
    const stopStarted = Date.now();
    const stopped = runner.stop('rev_a', DRAIN_MS);

    // New connections go to B at once.
    const socketToB = await openWebSocket(port, HOST);
    socketToB.send('hello');
    expect(await socketToB.receive()).toBe('b:hello');
    expect((await send(port, HOST)).body).toBe('b');

    // The request A was answering finishes there; after it, A's socket still works while the drain lasts.
    const slow = await slowToA;
    expect([slow.status, slow.body, slow.headers['x-maestro-revision']]).toEqual([200, 'a', 'rev_a']);
    socketToA.send('still there');
    expect(await socketToA.receive()).toBe('a:still there');
    expect(closedAt).toBe(0);

    // At the end of the drain the router closes it ("going away"), and only then does A stop.
    expect(await closing).toEqual({ closeCode: 1001, closeReason: 'going away' });
    await stopped;
    expect(closedAt - stopStarted).toBeGreaterThanOrEqual(DRAIN_MS - 20);
    // The app heard the router's close before it was told to stop.
    const log = await readFile(agent.logFile('rev_a-1'), 'utf8');
    expect(log).toMatch(/close 1001[\s\S]*SIGTERM/);
    expect(runner.replicas('rev_a')).toEqual([]);

    // B's socket was never disturbed.
    socketToB.send('after');
    expect(await socketToB.receive()).toBe('b:after');
    loading = false;
    await load;
    expect(failures).toEqual([]);
    const stats = await router.client.stats();
    expect(stats.websockets).toMatchObject({ rev_a: 0, rev_b: 1 });
    socketToB.close();
    await socketToB.ended;
  }, 20_000);

  it('retires one replica of a revision that serves on: out of the table first, drained, then stopped', async () => {
    const host = 'api.production.shop.localhost';
    const [first, second] = await Promise.all([startReplica('rev_rolling', 'one', 1), startReplica('rev_rolling', 'two', 2)]);
    const addresses = [`127.0.0.1:${first.port}`, `127.0.0.1:${second.port}`].sort();
    await router.client.putRoutes(table(50, [route(host, [{ revision: 'rev_rolling', weight: 100, upstreams: addresses }])]));
    const port = router.info.port;
    // One socket on each replica (round robin); stopSome retires the newest, "two".
    const sockets = [await openWebSocket(port, host), await openWebSocket(port, host)];
    const names = await Promise.all(
      sockets.map(async (socket) => {
        socket.send('who');
        return (await socket.receive()).split(':')[0];
      }),
    );
    expect([...names].sort()).toEqual(['one', 'two']);
    const toTwo = sockets[names.indexOf('two')]!;
    const toOne = sockets[names.indexOf('one')]!;

    const retired = runner.stopSome('rev_rolling', 1, DRAIN_MS);
    await waitFor(async () => !(await router.client.getRoutes()).routes.some((candidate) => candidate.backends.some((backend) => backend.upstreams.includes(`127.0.0.1:${second.port}`))));
    // New traffic reaches the replica that stays; the retiring one's socket still works meanwhile.
    for (let index = 0; index < 5; index++) expect((await send(port, host)).body).toBe('one');
    toTwo.send('still');
    expect(await toTwo.receive()).toBe('two:still');

    expect(await toTwo.ended).toEqual({ closeCode: 1001, closeReason: 'going away' });
    await retired;
    expect(await readFile(agent.logFile('rev_rolling-2'), 'utf8')).toMatch(/close 1001[\s\S]*SIGTERM/);
    expect(runner.replicas('rev_rolling').map((replica) => replica.id)).toEqual(['rev_rolling-1']);
    expect(runner.isRetiring('rev_rolling-2')).toBe(false);
    toOne.send('untouched');
    expect(await toOne.receive()).toBe('one:untouched');
    toOne.close();
    await toOne.ended;
    await runner.stop('rev_rolling', 0);
  }, 20_000);

  it('stops a revision at once when the router has nothing open to it', async () => {
    await startReplica('rev_idle', 'idle');
    const started = Date.now();
    await runner.stop('rev_idle', 10_000);
    expect(runner.replicas('rev_idle')).toEqual([]);
    // Far less than the drain time: the router said at once that nothing was open.
    expect(Date.now() - started).toBeLessThan(5_000);
  }, 20_000);
});
