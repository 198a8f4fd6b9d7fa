/**
 * People and tokens from the command line, against a real Maestro: an owner adds a person, the person
 * logs in with a password and gets a personal token, makes a CI token for one project, and deploys to
 * production only with a reason; revoked tokens and removed people are refused.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLES, ROOT, cli, startTestMaestro, stopTestMaestro, type CliResult, type TestMaestro } from './harness.js';

/** The real `maestro` command, with only the credentials each caller is given. */
const maestro = (args: string[], env: Record<string, string>, input?: string): Promise<CliResult> => cli(args, env, ROOT, input);

describe('maestro users, login --email and tokens', () => {
  let server: TestMaestro;
  let home: string;
  let owner: Record<string, string>;
  let ada: Record<string, string>;

  beforeAll(async () => {
    server = await startTestMaestro();
    home = await mkdtemp(join(tmpdir(), 'maestro-cli-home-'));
    // The owner uses the admin token; Ada only what `maestro login` saves in her config folder.
    owner = { ...server.env, XDG_CONFIG_HOME: join(home, 'owner') };
    ada = { XDG_CONFIG_HOME: join(home, 'ada'), MAESTRO_DATA_DIR: join(home, 'no-local-server') };
    await server.store.projects.ensure('shop');
  }, 60_000);

  afterAll(async () => {
    await stopTestMaestro(server);
    await rm(home, { recursive: true, force: true });
  });

  it('adds a person with a password from stdin, and lists them with their role', async () => {
    const added = await maestro(['users', 'add', 'ada@example.com', '--role', 'developer', '--name', 'Ada', '--password-stdin'], owner, 'a long passphrase for ada\n');
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toBe('added ada@example.com: developer\n');
    const listed = await maestro(['users', 'ls'], owner);
    expect(listed.stdout).toMatch(/ada@example\.com\s+Ada\s+developer\s+password/);
  });

  it('logs in with an email and password and saves a personal token, never the password', async () => {
    const wrong = await maestro(['login', '--url', server.apiUrl, '--email', 'ada@example.com'], ada, 'not the password\n');
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toBe('error: the email or password is wrong\n');

    const login = await maestro(['login', '--url', server.apiUrl, '--email', 'ada@example.com'], ada, 'a long passphrase for ada\n');
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toMatch(/^logged in to http:\/\/127\.0\.0\.1:\d+ as ada@example\.com \(developer\); saved the personal token "cli:ada@example\.com@[^"]+" to /);
    const saved = JSON.parse(await readFile(join(home, 'ada', 'maestro', 'config.json'), 'utf8')) as { url: string; token: string };
    expect(saved.token).toMatch(/^mae_/);
    expect(JSON.stringify(saved)).not.toContain('passphrase');
    // The session the login used is over; only the token is left.
    expect(await server.store.sessions.forUser((await server.store.users.findByEmail('ada@example.com'))!.id)).toEqual([]);

    // Logging in again from this machine replaces that token instead of failing on its name.
    expect((await maestro(['login', '--url', server.apiUrl, '--email', 'ada@example.com'], ada, 'a long passphrase for ada\n')).code).toBe(0);
    const mine = await maestro(['tokens', 'ls', '--json'], ada);
    expect((JSON.parse(mine.stdout) as { tokens: Array<{ role: string; owner: string }> }).tokens).toEqual([
      expect.objectContaining({ role: 'personal', owner: 'ada@example.com' }),
    ]);
  });

  it('makes a project CI token printed once, never more than Ada holds, and revokes it', async () => {
    const tooMuch = await maestro(['tokens', 'create', 'ci-admin', '--role', 'admin'], ada);
    expect(tooMuch.code).toBe(1);
    expect(tooMuch.stderr).toMatch(/would hold project:delete, deploy:production, secrets:read, policy:waive, audit:view, which token "cli:ada@example\.com@[^"]+" does not hold there/);

    const created = await maestro(['tokens', 'create', 'ci-shop', '--role', 'developer', '--project', 'shop', '--expires', '30d'], ada);
    expect(created.code, created.stderr).toBe(0);
    const secret = created.stdout.trim();
    expect(secret).toMatch(/^mae_[A-Za-z0-9_-]+$/);
    expect(created.stderr).toMatch(/^token ci-shop: role developer on project shop, expires \d{4}-/);

    const listed = await maestro(['tokens', 'ls'], owner);
    expect(listed.stdout).toMatch(/ci-shop\s+developer\s+project shop\s+ada@example\.com\s+never\s+\d{4}-/);
    expect(listed.stdout).not.toContain(secret);

    const ci = { MAESTRO_URL: server.apiUrl, MAESTRO_TOKEN: secret, XDG_CONFIG_HOME: join(home, 'ci') };
    const elsewhere = await maestro(['deployments', '--project', 'other'], ci);
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr).toContain('project:view is needed on project other; token "ci-shop" has role developer on project shop');

    expect((await maestro(['tokens', 'revoke', 'ci-shop'], ada)).stdout).toBe('revoked token ci-shop\n');
    const revoked = await maestro(['deployments', '--project', 'shop'], ci);
    expect(revoked.code).toBe(1);
    expect(revoked.stderr).toContain('the API token is not valid');
  });

  it('asks a person deploying to production by hand for a reason', async () => {
    expect((await maestro(['users', 'set-role', 'ada@example.com', '--role', 'admin'], owner)).stdout).toBe('ada@example.com: admin\n');
    const app = join(EXAMPLES, 'node-hello');
    const bare = await maestro(['deploy', app, '--no-wait', '--json'], ada);
    expect(bare.code).toBe(1);
    expect(bare.stderr).toContain('needs a reason: pass --reason "why"');
    const reasoned = await maestro(['deploy', app, '--no-wait', '--json', '--reason', 'first release'], ada);
    expect(reasoned.code, reasoned.stderr).toBe(0);
    expect(JSON.parse(reasoned.stdout)).toMatchObject({ environment: 'production', status: expect.any(String) });
  });

  it('removes a person, whose personal token stops working at once', async () => {
    expect((await maestro(['users', 'rm', 'ada@example.com'], owner)).stdout).toBe('removed ada@example.com\n');
    const after = await maestro(['status'], ada);
    expect(after.code).toBe(1);
    expect(after.stderr).toContain('the API token is not valid');
  });
});
