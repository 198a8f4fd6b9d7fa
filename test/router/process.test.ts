import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRouterClient, parseRouterArgs } from '../../src/router/index.js';
import { route, send, startUpstream, table, tempDir, type Upstream } from './support.js';

const MAIN = fileURLToPath(new URL('../../src/router/main.ts', import.meta.url));
const HOST = 'web.production.shop.localhost';
const TOKEN = 'router-token-do-not-log';

interface RouterProcess {
  child: ChildProcess;
  port: number;
  adminPort: number;
  output: () => string;
}

/** Spawn the router the way a parent process would, and wait for its READY line. */
async function spawnRouter(stateFile: string, env: Record<string, string> = {}): Promise<RouterProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, '--port', '0', '--admin-port', '0', '--state-file', stateFile], {
    env: { ...process.env, MAESTRO_ROUTER_TOKEN: TOKEN, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => (output += chunk));
  const ready = await new Promise<{ port: number; adminPort: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`router did not get ready:\n${output}`)), 15_000);
    child.stdout!.on('data', (chunk: string) => {
      output += chunk;
      const match = /^READY (\d+) (\d+)$/m.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ port: Number(match[1]), adminPort: Number(match[2]) });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`router exited with ${code}:\n${output}`));
    });
  });
  return { child, ...ready, output: () => output };
}

function logLines(output: string): Array<Record<string, unknown>> {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('router process', () => {
  let dir: ReturnType<typeof tempDir>;
  let app: Upstream;
  let release: () => void = () => {};

  beforeAll(async () => {
    dir = tempDir();
    app = await startUpstream('app', (req, res) => {
      const answer = (): void => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(`served ${req.url}`);
      };
      if (req.url?.startsWith('/slow')) release = answer;
      else answer();
    });
  });

  afterAll(async () => {
    await app.close();
    dir.remove();
  });

  it('serves the last table straight after a crash and restart', async () => {
    const stateFile = join(dir.path, 'state', 'routes.json');
    const first = await spawnRouter(stateFile);
    const client = createRouterClient({ adminUrl: `http://127.0.0.1:${first.adminPort}`, token: TOKEN });
    try {
      await client.putRoutes(table(7, [route(HOST, [{ revision: 'r7', weight: 100, upstreams: [app.address] }])]));
      expect((await send(first.port, HOST, { path: '/a', agent: false })).body).toBe('served /a');
    } finally {
      await client.close();
      first.child.kill('SIGKILL');
      await once(first.child, 'close');
    }

    const second = await spawnRouter(stateFile);
    try {
      // No push: the saved table is served the moment the process is ready.
      const answer = await send(second.port, HOST, { path: '/b', agent: false });
      expect(answer.status).toBe(200);
      expect(answer.body).toBe('served /b');
      expect(answer.headers['x-maestro-revision']).toBe('r7');
      const health = createRouterClient({ adminUrl: `http://127.0.0.1:${second.adminPort}` });
      expect(await health.health()).toEqual({ ok: true, version: 7, routes: 1 });
      await health.close();
    } finally {
      second.child.kill('SIGKILL');
      await once(second.child, 'close');
    }

    const logs = first.output() + second.output();
    const lines = logLines(logs);
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'router listening', version: 0 }));
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'route table applied', version: 7 }));
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'router listening', version: 7 }));
  });

  it('on SIGTERM finishes the request in flight, then exits 0', async () => {
    const router = await spawnRouter(join(dir.path, 'term.json'), { MAESTRO_ROUTER_ACCESS_LOG: '1' });
    const client = createRouterClient({ adminUrl: `http://127.0.0.1:${router.adminPort}`, token: TOKEN });
    await client.putRoutes(table(1, [route(HOST, [{ revision: 'r1', weight: 100, upstreams: [app.address] }])]));
    await client.close();
    const inFlight = send(router.port, HOST, { path: '/slow?token=hunter2', agent: false });
    while (app.requests.at(-1)?.url !== '/slow?token=hunter2') await new Promise((resolve) => setTimeout(resolve, 20));
    const exited = once(router.child, 'exit');
    const closed = once(router.child, 'close');
    router.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(router.child.exitCode).toBeNull();
    release();
    const answer = await inFlight;
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('served /slow?token=hunter2');
    const [code] = await exited;
    expect(code).toBe(0);
    await closed;
    // The access log (on here) names the request without its query string, and no log line holds a secret.
    const lines = logLines(router.output());
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'request', path: '/slow', status: 200, revision: 'r1' }));
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'router stopped' }));
    expect(router.output()).not.toContain(TOKEN);
    expect(router.output()).not.toContain('hunter2');
  });

  it('refuses a bad command line with a message that says what to fix', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, '--port', '99999', '--admin-port', '0', '--state-file', join(dir.path, 'x.json')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (stderr += chunk));
    const [code] = await once(child, 'exit');
    expect(code).toBe(2);
    expect(stderr).toContain('--port wants a port from 0 to 65535');
    expect(() => parseRouterArgs(['--port', '1', '--admin-port', '2'])).toThrow(/--state-file is required/);
    expect(parseRouterArgs(['--port', '8080', '--admin-port', '8081', '--state-file', 's.json', '--host', '0.0.0.0', '--upstream-timeout', '30s'])).toEqual({
      port: 8080,
      adminPort: 8081,
      host: '0.0.0.0',
      stateFile: 's.json',
      upstreamTimeoutMs: 30_000,
    });
  });
});
