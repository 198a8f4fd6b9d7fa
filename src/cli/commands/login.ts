import { hostname } from 'node:os';
import type { Command } from 'commander';
import { MaestroError, isMaestroError } from '../../common/index.js';
import { CSRF_HEADER, SESSION_COOKIE } from '../../identity/index.js';
import { ApiClient } from '../api-client.js';
import { saveLogin } from '../credentials.js';
import { readAll, readSecret } from '../prompt.js';

interface LoginOptions {
  url: string;
  token?: string;
  email?: string;
}

/** The session cookie's `name=value` from a login's Set-Cookie headers. */
export function sessionCookie(setCookie: string | string[] | undefined): string | undefined {
  for (const header of [setCookie ?? []].flat()) {
    const pair = header.split(';')[0]?.trim();
    if (pair?.startsWith(`${SESSION_COOKIE}=`)) return pair;
  }
  return undefined;
}

/** One personal token per person and machine: logging in again from here replaces it. */
export function cliTokenName(email: string, host: string): string {
  return `cli:${email}@${host}`.replace(/[^A-Za-z0-9._@:+-]/g, '-').slice(0, 100);
}

/**
 * Logs in with an email and password, makes a personal token for this machine's CLI (it acts as the
 * person, with their roles as they are now), and logs the session out again: only the token is kept.
 */
async function loginWithPassword(url: string, email: string): Promise<{ token: string; name: string; role: string }> {
  const password = await readSecret(`password for ${email}: `);
  if (!password) throw new MaestroError('validation_error', 'no password: type it at the prompt, or pipe it on standard input');
  const anonymous = new ApiClient({ url, token: '', source: 'login' });
  const login = await anonymous.exchange<{ csrfToken: string }>('POST', '/v1/auth/login', { email, password });
  const cookie = sessionCookie(login.headers['set-cookie']);
  if (!cookie) throw new MaestroError('internal', `${url} answered the login without a session cookie; is it a Maestro server?`);
  const session = { cookie, [CSRF_HEADER]: login.body.csrfToken };
  try {
    const name = cliTokenName(email, hostname());
    await anonymous.call('DELETE', `/v1/tokens/${encodeURIComponent(name)}`, undefined, session).catch((error: unknown) => {
      if (!(isMaestroError(error) && error.code === 'not_found')) throw error;
    });
    const created = await anonymous.call<{ token: { name: string }; secret: string }>('POST', '/v1/tokens', { name, role: 'personal' }, session);
    const me = await new ApiClient({ url, token: created.secret, source: 'login' }).call<{ role: string }>('GET', '/v1/whoami');
    return { token: created.secret, name: created.token.name, role: me.role };
  } finally {
    await anonymous.call('POST', '/v1/auth/logout', undefined, session).catch(() => undefined);
  }
}

export function loginCommand(program: Command): void {
  program
    .command('login')
    .description('Save a server address and API token for later commands: a token you have, or (with --email) a personal one made by logging in')
    .option('--url <url>', 'the Maestro API', 'http://127.0.0.1:7070')
    .option('--token <token>', 'the API token (default: read from standard input)')
    .option('--email <email>', 'log in with your email and password (asked for, or read from standard input) and save a personal token for this machine')
    .addHelpText(
      'after',
      '\nExamples:\n  maestro login --url https://maestro.example.com < token.txt\n  echo "$TOKEN" | maestro login\n  maestro login --url https://maestro.example.com --email ada@example.com\n',
    )
    .action(async (options: LoginOptions) => {
      const url = options.url.replace(/\/+$/, '');
      if (options.email) {
        if (options.token) throw new MaestroError('validation_error', 'give either --token or --email, not both');
        const made = await loginWithPassword(url, options.email);
        const file = saveLogin(url, made.token);
        process.stdout.write(`logged in to ${url} as ${options.email} (${made.role}); saved the personal token "${made.name}" to ${file}\n`);
        return;
      }
      const token = options.token ?? (process.stdin.isTTY ? '' : (await readAll()).trim());
      if (!token) throw new MaestroError('validation_error', 'no token: pass --token, pipe it on standard input, or log in with --email');
      const me = await new ApiClient({ url, token, source: 'login' }).call<{ name: string; role: string }>('GET', '/v1/whoami');
      const file = saveLogin(url, token);
      process.stdout.write(`logged in to ${url} as ${me.name} (${me.role}); saved to ${file}\n`);
    });
}
