import type { Command } from 'commander';
import type { DeploymentView, ServiceStatusView } from '../../server/index.js';
import { ApiClient } from '../api-client.js';
import { resolveCredentials } from '../credentials.js';
import { createOutput, table } from '../output.js';
import { defaultProject } from '../project-name.js';

export function statusCommand(program: Command): void {
  program
    .command('status')
    .description('What serves where: each live service with its release, health and URL')
    .option('-p, --project <name>', 'only this project')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  maestro status\n  maestro status --project shop --json\n')
    .action(async (options: { project?: string; json?: boolean }) => {
      const out = createOutput(options);
      const client = new ApiClient(resolveCredentials());
      const query = options.project ? `?project=${encodeURIComponent(options.project)}` : '';
      const { services } = await client.call<{ services: ServiceStatusView[] }>('GET', `/v1/status${query}`);
      out.result({ services }, () =>
        services.length === 0
          ? 'nothing is deployed yet; try `maestro deploy examples/node-hello`'
          : table([
              ['PROJECT', 'SERVICE', 'ENV', 'STATUS', 'RELEASE', 'REPLICAS', 'URL'],
              ...services.map((s) => [
                s.project,
                s.service,
                s.environment,
                s.deploying.length > 0 ? `${s.status} (deploying)` : s.status,
                String(s.release),
                `${s.replicas.filter((r) => r.state === 'healthy').length}/${s.replicas.length}`,
                s.url,
              ]),
            ]),
      );
    });
}

export function releasesCommand(program: Command): void {
  program
    .command('releases')
    .description('The releases of a service in an environment, newest first')
    .requiredOption('-s, --service <name>', 'the service')
    .option('-e, --env <environment>', 'the environment', 'production')
    .option('-p, --project <name>', 'the project (default: `project` in ./maestro.yml)')
    .option('-n, --limit <count>', 'how many', '20')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  maestro releases --service web --env production\n')
    .action(async (options: { service: string; env: string; project?: string; limit: string; json?: boolean }) => {
      const out = createOutput(options);
      const client = new ApiClient(resolveCredentials());
      const project = options.project ?? defaultProject();
      const { releases } = await client.call<{
        releases: Array<{ number: number; revision: string; kind: string; reason: string | null; live: boolean; createdAt: string }>;
      }>('GET', `/v1/projects/${project}/services/${options.service}/environments/${options.env}/releases?limit=${Number(options.limit) || 20}`);
      out.result({ releases }, () =>
        table([
          ['RELEASE', 'REVISION', 'KIND', 'CREATED', 'NOTE'],
          ...releases.map((r) => [`${r.live ? '* ' : '  '}${r.number}`, r.revision, r.kind, r.createdAt, r.reason ?? '']),
        ]),
      );
    });
}

export function logsCommand(program: Command): void {
  program
    .command('logs')
    .description("The live revision's log lines")
    .requiredOption('-s, --service <name>', 'the service')
    .option('-e, --env <environment>', 'the environment', 'production')
    .option('-p, --project <name>', 'the project (default: `project` in ./maestro.yml)')
    .option('-n, --tail <lines>', 'how many recent lines per replica', '100')
    .option('-f, --follow', 'keep printing new lines')
    .addHelpText('after', '\nExamples:\n  maestro logs --service web\n  maestro logs --service web --env staging -f\n')
    .action(async (options: { service: string; env: string; project?: string; tail: string; follow?: boolean }) => {
      const client = new ApiClient(resolveCredentials());
      const project = options.project ?? defaultProject();
      const path = `/v1/projects/${project}/services/${options.service}/environments/${options.env}/logs?tail=${Number(options.tail) || 0}`;
      if (!options.follow) {
        const { lines } = await client.call<{ lines: Array<{ replica: string; line: string }> }>('GET', path);
        for (const entry of lines) process.stdout.write(`${entry.replica} | ${entry.line}\n`);
        return;
      }
      for await (const raw of client.lines(`${path}&follow=true`)) {
        if (!raw.trim()) continue;
        const entry = JSON.parse(raw) as { replica: string; line: string };
        process.stdout.write(`${entry.replica} | ${entry.line}\n`);
      }
    });
}


export function deploymentsCommand(program: Command): void {
  program
    .command('deployments')
    .description('Deployments, newest first: what was deployed where, from which commit, and how it ended')
    .option('-p, --project <name>', 'only this project')
    .option('-s, --service <name>', 'only this service (with --project)')
    .option('-e, --env <environment>', 'only this environment (with --project)')
    .option('-n, --limit <count>', 'how many', '20')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  maestro deployments --project shop\n  maestro deployments --project shop --env pr-7 --json\n')
    .action(async (options: { project?: string; service?: string; env?: string; limit: string; json?: boolean }) => {
      const out = createOutput(options);
      const client = new ApiClient(resolveCredentials());
      const query = new URLSearchParams({ limit: String(Number(options.limit) || 20) });
      if (options.project) query.set('project', options.project);
      if (options.service) query.set('service', options.service);
      if (options.env) query.set('environment', options.env);
      const { deployments } = await client.call<{ deployments: DeploymentView[] }>('GET', `/v1/deployments?${query.toString()}`);
      out.result({ deployments }, () =>
        deployments.length === 0
          ? 'no deployments yet'
          : table([
              ['ID', 'PROJECT', 'SERVICE', 'ENV', 'STATUS', 'COMMIT', 'REF', 'CREATED'],
              ...deployments.map((d) => [
                d.id,
                d.project,
                d.service,
                d.environment,
                d.releaseBuild && d.status === 'succeeded' ? 'built (release build)' : d.status,
                d.commit?.slice(0, 7) ?? '-',
                d.ref?.replace(/^refs\/(heads|tags)\//, '') ?? '-',
                d.createdAt,
              ]),
            ]),
      );
    });
}
