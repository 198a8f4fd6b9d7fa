import type { Command } from 'commander';
import { ApiClient } from '../api-client.js';
import { resolveCredentials } from '../credentials.js';
import { createOutput, table } from '../output.js';

interface TokenView {
  name: string;
  role: string;
  scope: 'organisation' | 'project';
  project: string | null;
  owner: string | null;
  createdBy: string | null;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
}

const where = (token: TokenView): string => (token.project ? `project ${token.project}` : 'organisation');

/** `maestro tokens ...`: API tokens for people and CI. */
export function tokensCommands(program: Command): void {
  const tokens = program.command('tokens').description('API tokens for people and CI: scoped to the organisation or one project, with a role');

  tokens
    .command('create')
    .description('Make a token; its secret is printed once (alone on stdout, so it can be captured)')
    .argument('<name>', 'a name unique in the organisation, e.g. ci-shop')
    .requiredOption('-r, --role <role>', 'owner, admin, developer or viewer (at most what you hold there), or personal: acts as you')
    .option('-p, --project <name>', 'only this project (default: the whole organisation)')
    .option('--expires <duration>', 'expires after this long, e.g. 30d (at most 365d; default: never)')
    .option('--json', 'print JSON, with the secret')
    .addHelpText('after', '\nExamples:\n  maestro tokens create ci-shop --role developer --project shop --expires 90d\n  TOKEN=$(maestro tokens create dashboard --role viewer)\n')
    .action(async (name: string, options: { role: string; project?: string; expires?: string; json?: boolean }) => {
      const out = createOutput(options);
      const created = await new ApiClient(resolveCredentials()).call<{ token: TokenView; secret: string }>('POST', '/v1/tokens', {
        name,
        role: options.role,
        ...(options.project ? { project: options.project } : {}),
        ...(options.expires ? { expires: options.expires } : {}),
      });
      if (!out.json) {
        const expiry = created.token.expiresAt ? `, expires ${created.token.expiresAt}` : '';
        process.stderr.write(`token ${created.token.name}: role ${created.token.role} on ${where(created.token)}${expiry}; the secret below is shown only now\n`);
      }
      out.result(created, () => created.secret);
    });

  tokens
    .command('ls')
    .description("Tokens (never their secrets): the organisation's with org:manage, else your own")
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const out = createOutput(options);
      const result = await new ApiClient(resolveCredentials()).call<{ tokens: TokenView[] }>('GET', '/v1/tokens');
      out.result(result, () =>
        result.tokens.length === 0
          ? 'no tokens'
          : table([
              ['NAME', 'ROLE', 'SCOPE', 'OWNER', 'LAST USED', 'EXPIRES'],
              ...result.tokens.map((t) => [t.name, t.role, where(t), t.owner ?? '-', t.lastUsedAt ?? 'never', t.expiresAt ?? 'never']),
            ]),
      );
    });

  tokens
    .command('revoke')
    .description('Revoke a token: requests with it are refused at once')
    .argument('<name>', 'the token name (see `maestro tokens ls`)')
    .option('--json', 'print JSON')
    .action(async (name: string, options: { json?: boolean }) => {
      const out = createOutput(options);
      const result = await new ApiClient(resolveCredentials()).call<{ revoked: string }>('DELETE', `/v1/tokens/${encodeURIComponent(name)}`);
      out.result(result, () => `revoked token ${result.revoked}`);
    });
}
