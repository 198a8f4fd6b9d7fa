import type { Command } from 'commander';
import { ApiClient } from '../api-client.js';
import { resolveCredentials } from '../credentials.js';
import { createOutput, table } from '../output.js';
import { defaultProject } from '../project-name.js';

interface HookView {
  project: string;
  provider: 'github' | 'gitlab';
  repository: string;
  statusUrl: string;
  secretSet: boolean;
  statusTokenSet: boolean;
  webhookPath: string;
  createdAt: string;
  secret?: string;
}

interface CommitStatusView {
  provider: string;
  sha: string;
  state: string;
  context: string;
  description: string;
  status: string;
  attempts: number;
  lastError: string | null;
  nextAttemptAt: string | null;
  createdAt: string;
}

const PROVIDERS = ['github', 'gitlab'];

/** Where a status is on its way: sent, waiting for its next try, or given up and why. */
function delivery(s: CommitStatusView): string {
  if (s.status === 'succeeded') return `sent (${s.attempts} ${s.attempts === 1 ? 'try' : 'tries'})`;
  if (s.status === 'dead') return `given up after ${s.attempts}: ${s.lastError ?? '-'}`;
  if (s.status === 'pending' && s.attempts > 0) return `retrying at ${s.nextAttemptAt ?? '-'}: ${s.lastError ?? '-'}`;
  return s.status;
}

/** What to enter in the provider's webhook form, in its own words. */
function setupLines(hook: HookView, apiUrl: string): string[] {
  const url = `${apiUrl.replace(/\/+$/, '')}${hook.webhookPath}`;
  const lines =
    hook.provider === 'github'
      ? [
          `project ${hook.project} takes GitHub webhooks from ${hook.repository}`,
          `  in ${hook.repository}'s Settings > Webhooks: Payload URL ${url}, Content type application/json,`,
          '  events: Pushes and Pull requests',
        ]
      : [
          `project ${hook.project} takes GitLab webhooks from ${hook.repository}`,
          `  in ${hook.repository}'s Settings > Webhooks: URL ${url},`,
          '  triggers: Push events, Tag push events and Merge request events',
        ];
  if (hook.secret) lines.push(`  ${hook.provider === 'github' ? 'Secret' : 'Secret token'} (shown only now): ${hook.secret}`);
  lines.push(hook.statusTokenSet ? `commit statuses go to ${hook.statusUrl}` : `no commit statuses (give a token with --status-token-env NAME to have them)`);
  return lines;
}

/** `maestro hooks ...`: link a project to its GitHub or GitLab repository. */
export function hooksCommands(program: Command): void {
  const hooks = program.command('hooks').description('Deploy from GitHub or GitLab webhooks, and report commit statuses back');

  hooks
    .command('set')
    .description("Link a project to its repository on GitHub or GitLab (prints the webhook's secret once when Maestro makes it)")
    .argument('<provider>', 'github or gitlab')
    .requiredOption('-r, --repository <name>', 'owner/name on GitHub, group/project or group/sub/project on GitLab')
    .option('-p, --project <name>', 'the project (default: `project` in ./maestro.yml)')
    .option('--secret-env <NAME>', 'take the webhook secret from this environment variable (one is generated when absent)')
    .option('--status-url <URL>', 'the API base for commit statuses (GitHub Enterprise, a self-managed GitLab); default: the public API')
    .option('--status-token-env <NAME>', 'take the token that may set commit statuses from this environment variable')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nSecrets come from environment variables so they stay out of shell history.\n\nExamples:\n' +
        '  maestro hooks set github --project shop --repository octo-org/shop --status-token-env GITHUB_TOKEN\n' +
        '  maestro hooks set gitlab --repository acme/web/shop --secret-env HOOK_SECRET --status-url https://gitlab.example.com/api/v4 --status-token-env GITLAB_TOKEN\n',
    )
    .action(async (provider: string, options: { repository: string; project?: string; secretEnv?: string; statusUrl?: string; statusTokenEnv?: string; json?: boolean }, command: Command) => {
      if (!PROVIDERS.includes(provider)) command.error(`error: the provider is github or gitlab, not "${provider}"`, { exitCode: 2 });
      const fromEnv = (flag: string, name: string | undefined): string | undefined => {
        if (name === undefined) return undefined;
        const value = process.env[name];
        if (!value) command.error(`error: ${flag} ${name}: the environment variable ${name} is not set`, { exitCode: 2 });
        return value;
      };
      const secret = fromEnv('--secret-env', options.secretEnv);
      const statusToken = fromEnv('--status-token-env', options.statusTokenEnv);
      const out = createOutput(options);
      const client = new ApiClient(resolveCredentials());
      const project = options.project ?? defaultProject();
      const hook = await client.call<HookView>('PUT', `/v1/projects/${encodeURIComponent(project)}/hooks/${provider}`, {
        repository: options.repository,
        ...(secret ? { secret } : {}),
        ...(options.statusUrl ? { statusUrl: options.statusUrl } : {}),
        ...(statusToken ? { statusToken } : {}),
      });
      out.result(hook, () => setupLines(hook, client.url));
    });

  hooks
    .command('ls')
    .description("A project's links to GitHub and GitLab")
    .option('-p, --project <name>', 'the project (default: `project` in ./maestro.yml)')
    .option('--json', 'print JSON')
    .action(async (options: { project?: string; json?: boolean }) => {
      const out = createOutput(options);
      const project = options.project ?? defaultProject();
      const result = await new ApiClient(resolveCredentials()).call<{ hooks: HookView[] }>('GET', `/v1/projects/${encodeURIComponent(project)}/hooks`);
      out.result(result, () =>
        result.hooks.length === 0
          ? `project ${project} is linked to no repository (link one with \`maestro hooks set github --repository owner/name\`)`
          : table([
              ['PROVIDER', 'REPOSITORY', 'WEBHOOK', 'STATUSES'],
              ...result.hooks.map((h) => [h.provider, h.repository, h.webhookPath, h.statusTokenSet ? h.statusUrl : 'off (no token)']),
            ]),
      );
    });

  hooks
    .command('statuses')
    .description('Commit statuses sent to GitHub and GitLab, newest first, with the reason of any given up')
    .option('-p, --project <name>', 'the project (default: `project` in ./maestro.yml)')
    .option('-s, --status <status>', 'only pending, delivering, succeeded or dead')
    .option('--sha <sha>', 'only this commit')
    .option('-n, --limit <count>', 'how many', '30')
    .option('--json', 'print JSON')
    .action(async (options: { project?: string; status?: string; sha?: string; limit: string; json?: boolean }) => {
      const out = createOutput(options);
      const project = options.project ?? defaultProject();
      const query = new URLSearchParams({ limit: String(Number(options.limit) || 30), ...(options.status ? { status: options.status } : {}), ...(options.sha ? { sha: options.sha } : {}) });
      const result = await new ApiClient(resolveCredentials()).call<{ statuses: CommitStatusView[] }>('GET', `/v1/projects/${encodeURIComponent(project)}/commit-statuses?${query}`);
      out.result(result, () =>
        result.statuses.length === 0
          ? 'no commit statuses'
          : table([
              ['CREATED', 'PROVIDER', 'COMMIT', 'CONTEXT', 'STATE', 'DELIVERY'],
              ...result.statuses.map((s) => [s.createdAt, s.provider, s.sha.slice(0, 12), s.context, s.state, delivery(s)]),
            ]),
      );
    });

  hooks
    .command('rm')
    .description("Unlink a project from a provider: its webhooks are refused from now on")
    .argument('<provider>', 'github or gitlab')
    .option('-p, --project <name>', 'the project (default: `project` in ./maestro.yml)')
    .option('--json', 'print JSON')
    .action(async (provider: string, options: { project?: string; json?: boolean }, command: Command) => {
      if (!PROVIDERS.includes(provider)) command.error(`error: the provider is github or gitlab, not "${provider}"`, { exitCode: 2 });
      const out = createOutput(options);
      const project = options.project ?? defaultProject();
      const result = await new ApiClient(resolveCredentials()).call<{ project: string; removed: string }>('DELETE', `/v1/projects/${encodeURIComponent(project)}/hooks/${provider}`);
      out.result(result, () => `project ${result.project} no longer takes ${result.removed} webhooks`);
    });
}
