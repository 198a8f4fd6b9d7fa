import { InvalidArgumentError, type Command } from 'commander';
import { ApiClient } from '../api-client.js';
import { resolveCredentials } from '../credentials.js';
import { createOutput } from '../output.js';
import { defaultProject } from '../project-name.js';

interface RollbackOptions {
  service: string;
  env: string;
  project?: string;
  to?: string;
  reason?: string;
  json?: boolean;
}

export function rollbackCommand(program: Command): void {
  program
    .command('rollback')
    .description('Move traffic back to an earlier release: at once while the previous one is warm, no rebuild otherwise')
    .requiredOption('-s, --service <name>', 'the service')
    .option('-e, --env <environment>', 'the environment', 'production')
    .option('-p, --project <name>', 'the project (default: `project` in ./maestro.yml)')
    .option('--to <release>', 'the release number to return to (default: the previous one)')
    .option('--reason <text>', 'why, kept with the release')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExamples:\n  maestro rollback --service web --env production\n  maestro rollback --service web --env production --to 3 --reason "v4 breaks checkout"\n')
    .action(async (options: RollbackOptions) => {
      const out = createOutput(options);
      const project = options.project ?? defaultProject();
      const client = new ApiClient(resolveCredentials());
      const to = options.to === undefined ? undefined : Number(options.to);
      if (to !== undefined && (!Number.isInteger(to) || to < 1)) {
        throw new InvalidArgumentError(`--to takes a release number such as 3, got "${options.to}"`);
      }
      const result = await client.call<{ release: number; from: number; revision: string; url: string; warm: boolean; durationMs: number }>(
        'POST',
        `/v1/projects/${project}/services/${options.service}/environments/${options.env}/rollback`,
        { ...(to !== undefined ? { to } : {}), ...(options.reason ? { reason: options.reason } : {}) },
      );
      out.result(result, () =>
        `${options.service} in ${options.env} rolled back from release ${result.from} to ${result.revision} as release ${result.release} in ${result.durationMs}ms${result.warm ? ' (warm)' : ''}: ${result.url}`,
      );
    });
}
