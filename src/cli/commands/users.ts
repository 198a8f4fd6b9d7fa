import type { Command } from 'commander';
import { MaestroError } from '../../common/index.js';
import { ApiClient } from '../api-client.js';
import { resolveCredentials } from '../credentials.js';
import { createOutput, table } from '../output.js';
import { readStdinLine } from '../prompt.js';

interface UserView {
  id: string;
  email: string;
  name: string;
  hasPassword: boolean;
  disabled: boolean;
  createdAt: string;
  memberships: Array<{ role: string; scope: 'organisation' | 'project'; project: string | null }>;
}

const roles = (user: UserView): string =>
  user.memberships.length === 0 ? '-' : user.memberships.map((m) => (m.project ? `${m.role} on ${m.project}` : `${m.role}`)).join(', ');

const path = (email: string): string => `/v1/users/${encodeURIComponent(email)}`;

/** `maestro users ...`: the people of the organisation and their roles (takes org:manage). */
export function usersCommands(program: Command): void {
  const users = program.command('users').description('People of the organisation and their roles (owners only)');

  users
    .command('add')
    .description('Add a person with a role in the organisation or on one project (an existing one gets the role)')
    .argument('<email>', 'their email address: what they log in with')
    .requiredOption('-r, --role <role>', 'owner, admin, developer or viewer')
    .option('-p, --project <name>', 'the role holds on this project only')
    .option('--name <name>', 'their name, for listings')
    .option('--password-stdin', 'read their first password from standard input (without it they sign in through SSO only)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  echo "$PASSWORD" | maestro users add ada@example.com --role developer --password-stdin\n  maestro users add grace@example.com --role viewer --project shop\n')
    .action(async (email: string, options: { role: string; project?: string; name?: string; passwordStdin?: boolean; json?: boolean }) => {
      const out = createOutput(options);
      const password = options.passwordStdin ? await readStdinLine() : undefined;
      if (options.passwordStdin && !password) throw new MaestroError('validation_error', 'no password on standard input: pipe it in, e.g. `echo "$PASSWORD" | maestro users add ...`');
      const result = await new ApiClient(resolveCredentials()).call<{ user: UserView; created: boolean }>('POST', '/v1/users', {
        email,
        role: options.role,
        ...(options.project ? { project: options.project } : {}),
        ...(options.name ? { name: options.name } : {}),
        ...(password ? { password } : {}),
      });
      out.result(result, () => `${result.created ? 'added' : 'updated'} ${result.user.email}: ${roles(result.user)}`);
    });

  users
    .command('ls')
    .description('People of the organisation with their roles')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const out = createOutput(options);
      const result = await new ApiClient(resolveCredentials()).call<{ users: UserView[] }>('GET', '/v1/users');
      out.result(result, () =>
        result.users.length === 0
          ? 'no users (add one with `maestro users add EMAIL --role ROLE`)'
          : table([
              ['EMAIL', 'NAME', 'ROLES', 'SIGN-IN', 'SINCE'],
              ...result.users.map((u) => [u.email, u.name || '-', roles(u), u.disabled ? 'disabled' : u.hasPassword ? 'password' : 'sso', u.createdAt]),
            ]),
      );
    });

  users
    .command('set-role')
    .description("Set a person's role in the organisation or on one project (none removes it)")
    .argument('<email>', 'who')
    .requiredOption('-r, --role <role>', 'owner, admin, developer, viewer or none')
    .option('-p, --project <name>', 'on this project only')
    .option('--json', 'print JSON')
    .action(async (email: string, options: { role: string; project?: string; json?: boolean }) => {
      const out = createOutput(options);
      const result = await new ApiClient(resolveCredentials()).call<{ user: UserView }>('PUT', `${path(email)}/role`, {
        role: options.role,
        ...(options.project ? { project: options.project } : {}),
      });
      out.result(result, () => `${result.user.email}: ${roles(result.user)}`);
    });

  users
    .command('rm')
    .description('Remove a person: their roles, sessions and tokens go with them')
    .argument('<email>', 'who')
    .option('--json', 'print JSON')
    .action(async (email: string, options: { json?: boolean }) => {
      const out = createOutput(options);
      const result = await new ApiClient(resolveCredentials()).call<{ removed: string }>('DELETE', path(email));
      out.result(result, () => `removed ${result.removed}`);
    });
}
