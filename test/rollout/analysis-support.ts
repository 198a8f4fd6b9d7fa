// A real router in front of two real apps (stable rev_a, canary rev_b) for the analysis tests.
import { createRouterClient, startRouter, REVISION_HEADER, type RouterClient, type RouterHandle } from '../../src/router/index.js';
import { route, send, startUpstream, table, tempDir, type Upstream } from '../router/support.js';

export const HOST = 'web.production.shop.localhost';

/** An app that answers 500 on /fail, waits `?ms=` on /slow, and 200 otherwise. */
export function startApp(name: string): Promise<Upstream> {
  return startUpstream(name, (req, res) => {
    const url = new URL(req.url ?? '/', 'http://app.invalid');
    const answer = (status: number): void => {
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(`${name} ${status}`);
    };
    if (url.pathname === '/fail') answer(500);
    else if (url.pathname === '/slow') setTimeout(() => answer(200), Number(url.searchParams.get('ms') ?? '0'));
    else answer(200);
  });
}

export interface Stage {
  router: RouterHandle;
  client: RouterClient;
  stable: Upstream;
  canary: Upstream;
  stateFile: string;
  /** Send `count` requests to a revision (pinned by header), `path` decides the answer. */
  traffic(revision: 'rev_a' | 'rev_b', count: number, path?: string): Promise<number[]>;
  /** Stop the router and start a fresh one (counters from zero) on the same ports and saved table. */
  restartRouter(): Promise<void>;
  close(): Promise<void>;
}

export async function startStage(options: { token?: string } = {}): Promise<Stage> {
  const dir = tempDir();
  const stateFile = `${dir.path}/routes.json`;
  const stable = await startApp('rev_a');
  const canary = await startApp('rev_b');
  let router = await startRouter({ port: 0, adminPort: 0, stateFile, adminToken: options.token });
  const client = createRouterClient({ adminUrl: `http://127.0.0.1:${router.adminPort}`, token: options.token, timeoutMs: 2000 });
  await client.putRoutes(
    table(1, [
      route(HOST, [
        { revision: 'rev_a', weight: 90, upstreams: [stable.address] },
        { revision: 'rev_b', weight: 10, upstreams: [canary.address] },
      ]),
    ]),
  );
  const stage: Stage = {
    get router() {
      return router;
    },
    client,
    stable,
    canary,
    stateFile,
    async traffic(revision, count, path = '/') {
      const statuses: number[] = [];
      for (let i = 0; i < count; i++) {
        const answer = await send(router.port, HOST, { path, headers: { [REVISION_HEADER]: revision } });
        statuses.push(answer.status);
      }
      return statuses;
    },
    async restartRouter() {
      const { port, adminPort } = router;
      await router.close({ graceMs: 100 });
      router = await startRouter({ port, adminPort, stateFile, adminToken: options.token });
    },
    async close() {
      await client.close();
      await router.close({ graceMs: 100 });
      await Promise.all([stable.close(), canary.close()]);
      dir.remove();
    },
  };
  return stage;
}
