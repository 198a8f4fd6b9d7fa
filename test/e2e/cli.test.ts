import { createServer, type Server } from 'node:net';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, exampleCopy, routerGet, startTestMaestro, stopTestMaestro, versionOf, EXAMPLES, type TestMaestro } from './harness.js';

describe('command-line conventions', () => {
  it('exits 2 on a usage error and 0 with --help, which shows examples', async () => {
    const usage = await cli(['deploy', '--env']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/argument missing|--env/);
    const unknown = await cli(['deploi']);
    expect(unknown.code).toBe(2);
    const help = await cli(['rollback', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Examples:');
  });

  it('says what is wrong with a value a command checks itself, not only commander', async () => {
    const bad = await cli(['rollback', '--service', 'web', '--to', 'abc'], { MAESTRO_URL: 'http://127.0.0.1:1', MAESTRO_TOKEN: 'unused' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('error: --to takes a release number such as 3, got "abc"');
  });

  it('tells a user with no server and no token what to do', async () => {
    const result = await cli(['status'], { MAESTRO_DATA_DIR: '/nonexistent/maestro', MAESTRO_TOKEN: '', XDG_CONFIG_HOME: '/nonexistent/config' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no API token: set MAESTRO_TOKEN, run `maestro login`/);
    const refused = await cli(['status'], { MAESTRO_URL: 'http://127.0.0.1:1', MAESTRO_TOKEN: 'mae_x' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('is `maestro up` running?');
  });
});

describe('maestro up with its API port taken', () => {
  it('says which port to change and leaves no router behind', async () => {
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const port = (squatter.address() as { port: number }).port;
    const dataDir = await mkdtemp(join(tmpdir(), 'maestro-up-'));
    try {
      const result = await cli(['up', '--data-dir', dataDir, '--api-port', String(port), '--router-port', '0', '--router-admin-port', '0']);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`the API port ${port} is already in use; choose another with --api-port`);
      expect(existsSync(join(dataDir, 'router', 'router.json'))).toBe(false);
    } finally {
      squatter.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('logs and a fixed port that is taken', () => {
  let maestro: TestMaestro;
  let squatter: Server | undefined;
  beforeAll(async () => {
    maestro = await startTestMaestro();
  });
  afterAll(async () => {
    squatter?.close();
    await stopTestMaestro(maestro);
  });

  it('prints the live revision\'s log lines', async () => {
    const deployed = await cli(['deploy', join(EXAMPLES, 'node-hello'), '--json'], maestro.env);
    expect(deployed.code, deployed.stderr).toBe(0);
    const logs = await cli(['logs', '--service', 'web', '--project', 'hello', '--tail', '10'], maestro.env);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toMatch(/rev_\w+-1 \| node-hello v1 listening on port \d+/);
  });

  it('refuses a fixed port another program holds, and the previous revision keeps serving', async () => {
    squatter = createServer();
    await new Promise<void>((resolve) => squatter!.listen(0, '0.0.0.0', resolve));
    const port = (squatter.address() as { port: number }).port;
    const fixed = await exampleCopy('node-hello', {
      'maestro.yml': (text) => text.replace('    start: node server.js', `    start: node server.js\n    port: ${port}`),
    });
    const result = await cli(['deploy', fixed, '--json'], maestro.env);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout).error).toMatch(new RegExp(`port ${port}.*(in use|taken)`));
    expect(versionOf((await routerGet(maestro.routerPort, 'web.production.hello.localhost')).body)).toBe('v1');
  });
});
