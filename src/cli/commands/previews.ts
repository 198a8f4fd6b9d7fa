import { Command, InvalidArgumentError } from 'commander';
import { formatDuration } from '../../common/index.js';
import type { GcReport, PreviewView, DestroyReport, SettingsView } from '../../previews/index.js';
import { ApiClient } from '../api-client.js';
import { resolveCredentials } from '../credentials.js';
import { createOutput, table } from '../output.js';
import { defaultProject } from '../project-name.js';

const part = (value: string): string => encodeURIComponent(value);

/** What the preview is for: `PR #7 (feat/login)` or the branch. */
function subject(preview: PreviewView): string {
  return preview.pullRequest === null ? preview.branch : `PR #${preview.pullRequest} (${preview.branch})`;
}

function expiresIn(preview: PreviewView, now = Date.now()): string {
  const left = Date.parse(preview.expiresAt) - now;
  return left <= 0 ? 'expired' : formatDuration(left);
}

function whole(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0) throw new InvalidArgumentError('expected a whole number, 0 or more');
  return number;
}

/** `maestro previews ...` (also `maestro preview ...`): the preview environments of branches and pull requests. */
export function previewsCommands(program: Command): void {
  const previews = program
    .command('previews')
    .alias('preview')
    .description('Preview environments: one per branch or pull request, at <service>.<preview>.<project>.localhost');

  previews
    .command('ls')
    .description('Live previews: what each is for, the commit it runs, its URLs, when it expires')
    .option('-p, --project <name>', 'only this project')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  maestro previews ls\n  maestro previews ls --project shop --json\n')
    .action(async (options: { project?: string; json?: boolean }) => {
      const out = createOutput(options);
      const client = new ApiClient(resolveCredentials());
      const path = options.project ? `/v1/projects/${part(options.project)}/previews` : '/v1/previews';
      const result = await client.call<{ previews: PreviewView[] }>('GET', path);
      out.result(result, () =>
        result.previews.length === 0
          ? 'no previews (a push of a branch other than the production branch, or a pull request, opens one)'
          : table([
              [...(options.project ? [] : ['PROJECT']), 'NAME', 'FOR', 'HEAD', 'STATE', 'EXPIRES IN', 'URL'],
              ...result.previews.map((p) => [
                ...(options.project ? [] : [p.project]),
                p.name,
                subject(p),
                p.head?.slice(0, 7) ?? '-',
                p.state,
                expiresIn(p),
                p.urls.join(' ') || '(nothing deployed yet)',
              ]),
            ]),
      );
    });

  previews
    .command('destroy')
    .description('Destroy a preview completely: deployments, routes, replicas, files and its environment')
    .argument('<name>', 'the preview (see `maestro previews ls`)')
    .option('-p, --project <name>', 'the project (default: `project` in ./maestro.yml)')
    .option('--reason <text>', 'why, kept with the preview')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  maestro preview destroy pr-7\n  maestro preview destroy feat-login-3fa2c1 --project shop --reason "demo done"\n')
    .action(async (name: string, options: { project?: string; reason?: string; json?: boolean }) => {
      const out = createOutput(options);
      const project = options.project ?? defaultProject();
      const query = options.reason ? `?reason=${part(options.reason)}` : '';
      const report = await new ApiClient(resolveCredentials()).call<DestroyReport>('DELETE', `/v1/projects/${part(project)}/previews/${part(name)}${query}`);
      out.result(report, () => [
        report.alreadyDestroyed
          ? `preview ${report.name} of ${report.project} was destroyed before; nothing was left`
          : `destroyed preview ${report.name} of ${report.project}: ${report.replicasStopped} replica(s) stopped, ${report.filesRemoved} file(s) removed`,
        ...report.problems.map((problem) => `warning: ${problem}`),
      ]);
    });

  previews
    .command('extend')
    .description("Push a preview's expiry out")
    .argument('<name>', 'the preview (see `maestro previews ls`)')
    .option('-p, --project <name>', 'the project (default: `project` in ./maestro.yml)')
    .option('--by <duration>', 'how much longer, like 24h or 7d', '24h')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  maestro preview extend pr-7\n  maestro preview extend pr-7 --by 7d\n')
    .action(async (name: string, options: { project?: string; by: string; json?: boolean }) => {
      const out = createOutput(options);
      const project = options.project ?? defaultProject();
      const preview = await new ApiClient(resolveCredentials()).call<PreviewView>('POST', `/v1/projects/${part(project)}/previews/${part(name)}/extend`, { by: options.by });
      out.result(preview, () => `preview ${preview.name} of ${preview.project} now expires at ${preview.expiresAt} (in ${expiresIn(preview)})`);
    });

  previews
    .command('gc')
    .description('Remove what belongs to nothing: preview environments without a preview, stray replicas, routes, folders and logs')
    .option('--dry-run', 'only list what would go')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  maestro previews gc --dry-run\n  maestro previews gc\n')
    .action(async (options: { dryRun?: boolean; json?: boolean }) => {
      const out = createOutput(options);
      const report = await new ApiClient(resolveCredentials()).call<GcReport>('POST', '/v1/previews/gc', { dryRun: Boolean(options.dryRun) });
      out.result(report, () => gcLines(report));
    });
}

function gcLines(report: GcReport): string[] {
  const lines = [
    ...report.environments.map((e) => `environment ${e.environment} of ${e.project} (looks like a preview; no preview holds it)`),
    ...report.replicas.map((r) => `replica ${r.id}${r.pid ? ` (pid ${r.pid})` : ''} of revision ${r.revisionId}, which does not exist`),
    ...report.routes.map((r) => `route ${r.host} (nothing live behind it)`),
    ...[...report.workFolders, ...report.revisionFolders, ...report.logs].map((path) => path),
  ];
  if (lines.length === 0) return ['nothing to collect'];
  const verb = report.dryRun ? 'would remove' : 'removed';
  return [`${verb} ${lines.length} thing(s):`, ...lines.map((line) => `  ${line}`), ...report.problems.map((problem) => `warning: ${problem}`)];
}

function settingsLines(project: string, settings: SettingsView): string[] {
  return [
    `project ${project}`,
    `  production branch  ${settings.productionBranch}`,
    `  preview TTL        ${settings.previewTtl}`,
    `  max previews       ${settings.maxPreviews}`,
    `  preview idle       ${settings.previewIdle ?? 'never (previews do not sleep)'}`,
  ];
}

/** `maestro projects set` and `maestro projects show`: how a project takes pushes and its previews' limits. */
export function projectSettingsCommands(program: Command): void {
  // Other commands may add to `maestro projects` too; they share one parent.
  const projects = program.commands.find((command) => command.name() === 'projects') ?? program.command('projects').description('Projects and their settings');

  projects
    .command('show')
    .description("A project's settings and its live previews")
    .argument('[project]', 'the project (default: `project` in ./maestro.yml)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  maestro projects show shop\n')
    .action(async (name: string | undefined, options: { json?: boolean }) => {
      const out = createOutput(options);
      const project = name ?? defaultProject();
      const client = new ApiClient(resolveCredentials());
      const settings = await client.call<SettingsView>('GET', `/v1/projects/${part(project)}/settings`);
      const { previews } = await client.call<{ previews: PreviewView[] }>('GET', `/v1/projects/${part(project)}/previews`);
      out.result({ project, settings, previews }, () => [
        ...settingsLines(project, settings),
        `  live previews      ${previews.length === 0 ? 'none' : previews.map((p) => `${p.name} (${subject(p)})`).join(', ')}`,
      ]);
    });

  projects
    .command('set')
    .description("Change a project's production branch and preview limits")
    .argument('<project>', 'the project')
    .option('--production-branch <branch>', 'pushes to this branch deploy to production; other branches get previews')
    .option('--preview-ttl <duration>', 'how long a preview lives after its last push, like 72h')
    .option('--max-previews <count>', 'live previews at once (0 turns previews off)', whole)
    .option('--preview-idle <duration>', "a preview with no request this long sleeps, like 30m; 'never' turns it off")
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  maestro projects set shop --production-branch trunk\n  maestro projects set shop --preview-ttl 24h --max-previews 20 --preview-idle 30m\n  maestro projects set shop --preview-idle never\n')
    .action(async (project: string, options: { productionBranch?: string; previewTtl?: string; maxPreviews?: number; previewIdle?: string; json?: boolean }, command: Command) => {
      const out = createOutput(options);
      const body = {
        ...(options.productionBranch !== undefined ? { productionBranch: options.productionBranch } : {}),
        ...(options.previewTtl !== undefined ? { previewTtl: options.previewTtl } : {}),
        ...(options.maxPreviews !== undefined ? { maxPreviews: options.maxPreviews } : {}),
        ...(options.previewIdle !== undefined ? { previewIdle: ['never', 'off', 'none'].includes(options.previewIdle) ? null : options.previewIdle } : {}),
      };
      if (Object.keys(body).length === 0) {
        command.error('error: say what to change: --production-branch, --preview-ttl, --max-previews or --preview-idle', { exitCode: 2 });
      }
      const settings = await new ApiClient(resolveCredentials()).call<SettingsView>('PATCH', `/v1/projects/${part(project)}/settings`, body);
      out.result(settings, () => settingsLines(project, settings));
    });
}
