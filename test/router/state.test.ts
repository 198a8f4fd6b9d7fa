import { afterEach, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRouterClient, startRouter, validateRouteTable } from '../../src/router/index.js';
import { loadStateFile } from '../../src/router/state-file.js';
import { route, table, tempDir } from './support.js';

const HOST = 'web.production.shop.localhost';

describe('route table persistence', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('starts empty from an unreadable state file instead of refusing to serve, then saves over it', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const stateFile = join(dir.path, 'routes.json');
    writeFileSync(stateFile, '{"version": 3, "routes": [tru');
    await expect(loadStateFile(stateFile)).rejects.toThrow(/not valid JSON/);
    const router = await startRouter({ port: 0, adminPort: 0, stateFile });
    cleanups.push(() => router.close({ graceMs: 0 }));
    expect(router.table()).toEqual({ version: 0, routes: [] });

    const client = createRouterClient({ adminUrl: `http://127.0.0.1:${router.adminPort}` });
    cleanups.push(() => client.close());
    const pushed = table(4, [route(HOST, [{ revision: 'r4', weight: 100, upstreams: ['127.0.0.1:9'] }])]);
    await client.putRoutes(pushed);
    expect(validateRouteTable(JSON.parse(readFileSync(stateFile, 'utf8')))).toEqual(pushed);
    // The write went through a temporary file that was renamed into place, and none is left behind.
    expect(readdirSync(dir.path)).toEqual(['routes.json']);
  });

  it('applies concurrent pushes one at a time, keeping the newest whatever the arrival order', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const stateFile = join(dir.path, 'nested', 'routes.json');
    const router = await startRouter({ port: 0, adminPort: 0, stateFile });
    cleanups.push(() => router.close({ graceMs: 0 }));
    const client = createRouterClient({ adminUrl: `http://127.0.0.1:${router.adminPort}` });
    cleanups.push(() => client.close());
    const versions = [5, 9, 2, 7, 8, 1, 6, 3, 4];
    const outcomes = await Promise.allSettled(versions.map((version) => client.putRoutes(table(version, [route(HOST, [{ revision: `r${version}`, weight: 100, upstreams: ['127.0.0.1:9'] }])]))));
    expect(outcomes.some((outcome) => outcome.status === 'fulfilled')).toBe(true);
    for (const outcome of outcomes) if (outcome.status === 'rejected') expect(outcome.reason).toMatchObject({ code: 'conflict' });
    expect(router.table().version).toBe(9);
    expect((await loadStateFile(stateFile))?.version).toBe(9);
  });
});
