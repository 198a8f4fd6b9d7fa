import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { packSource } from '../../build/index.js';
import { MaestroError, formatBytes } from '../../common/index.js';
import { formatProblem, validateFile } from '../../manifest/index.js';
import type { DeploymentView } from '../../server/index.js';
import { isTerminal } from '../../store/index.js';
import { ApiClient } from '../api-client.js';
import { resolveCredentials } from '../credentials.js';
import { createOutput, type Output } from '../output.js';
import { defaultProject } from '../project-name.js';
import { readEvents } from '../sse.js';

export interface DeployOptions {
  service?: string[];
  env: string;
  project?: string;
  wait: boolean;
  json?: boolean;
  reason?: string;
}

export function deployCommand(program: Command): void {
  program
    .command('deploy')
    .description('Pack a folder, upload it, build it and roll it out to an environment')
    .argument('[dir]', 'the app folder, with its maestro.yml', '.')
    .option('-s, --service <name...>', 'deploy only these services of the manifest')
    .option('-e, --env <environment>', 'the environment to deploy to', 'production')
    .option('-p, --project <name>', 'the project (default: `project` in maestro.yml)')
    .option('--wait', 'stream progress and wait for the outcome (the default)', true)
    .option('--no-wait', 'return as soon as the deployment is accepted')
    .option('--json', 'print one JSON object: id, status, url, release')
    .option('--reason <why>', 'why, for the audit trail: required of a person deploying to production by hand (pushes and provider webhooks are the pipeline)')
    .addHelpText('after', '\nExamples:\n  maestro deploy examples/node-hello\n  maestro deploy . --service web --env staging --json\n  maestro deploy . --env production --reason "hotfix for the checkout error"\n')
    .action(async (dir: string, options: DeployOptions) => {
      process.exitCode = await deploy(resolve(dir), options);
    });
}

export async function deploy(dir: string, options: DeployOptions): Promise<number> {
  const out = createOutput(options);
  const manifestFile = join(dir, 'maestro.yml');
  const checked = await validateFile(manifestFile);
  if (checked.problems.length > 0) {
    for (const problem of checked.problems) process.stderr.write(formatProblem(problem) + '\n');
    throw new MaestroError('validation_error', `${manifestFile} has ${checked.problems.length} problem${checked.problems.length === 1 ? '' : 's'}; fix them and deploy again`);
  }
  const project = options.project ?? defaultProject(dir);
  const client = new ApiClient(resolveCredentials());

  out.progress(`packing ${dir}`);
  const packed = await packSource(dir, { outFile: join(tmpdir(), `maestro-source-${randomUUID()}.tar.gz`) });
  try {
    if (await client.exists(`/v1/sources/${packed.digest}`)) {
      out.progress(`source ${packed.digest.slice(0, 12)} is already on the server`);
    } else {
      out.progress(`uploading ${packed.files} files (${formatBytes(packed.bytes)})`);
      await client.uploadFile(`/v1/sources`, packed.archive);
    }
  } finally {
    await rm(packed.archive, { force: true });
  }

  const { deployments } = await client.call<{ deployments: DeploymentView[] }>('POST', `/v1/projects/${project}/deployments`, {
    source: packed.digest,
    environment: options.env,
    ...(options.service ? { services: options.service } : {}),
    ...(options.reason ? { reason: options.reason } : {}),
  });
  for (const deployment of deployments) out.progress(`${deployment.service}: deployment ${deployment.id} (${deployment.status})`);

  const finals = options.wait ? await Promise.all(deployments.map((d) => follow(client, d, out, deployments.length > 1))) : deployments;
  const summary = finals.map((d) => ({ id: d.id, status: d.status, url: d.url, release: d.release, service: d.service, environment: d.environment, revision: d.revision, error: d.error }));
  out.result(summary.length === 1 ? summary[0] : { deployments: summary }, () =>
    finals.map((d) =>
      d.status === 'succeeded'
        ? `${d.service} is live at ${d.url} (release ${d.release})`
        : d.status === 'failed'
          ? `${d.service} failed: ${d.error}`
          : `${d.service}: deployment ${d.id} is ${d.status}; follow it with \`maestro status\``,
    ),
  );
  if (!options.wait) return 0;
  return finals.every((d) => d.status === 'succeeded') ? 0 : 1;
}

const RECONNECT_FOR_MS = 60_000;

/**
 * Stream a deployment's events until its final status; returns the final record. A broken stream (the
 * control plane restarting) is picked up again from the last event seen.
 */
async function follow(client: ApiClient, deployment: DeploymentView, out: Output, prefix: boolean): Promise<DeploymentView> {
  const tag = prefix ? `[${deployment.service}] ` : '';
  let after = 0;
  let lostSince: number | undefined;
  for (;;) {
    try {
      for await (const event of readEvents(client, `/v1/deployments/${deployment.id}/events?after=${after}`)) {
        lostSince = undefined;
        if (event.id !== undefined) after = Math.max(after, event.id);
        const data = (event.data as { data?: Record<string, unknown> }).data ?? {};
        if (event.event === 'log') out.progress(`${tag}  ${String(data.line)}`);
        else if (event.event === 'progress') out.progress(`${tag}${String(data.message)}`);
        else if (event.event === 'step') out.progress(`${tag}${String(data.step)}: ${String(data.state)}${data.durationMs ? ` in ${String(data.durationMs)}ms` : ''}${data.reason ? ` (${String(data.reason)})` : ''}`);
        else if (event.event === 'status') out.progress(`${tag}${String(data.status)}${data.error ? `: ${String(data.error)}` : ''}`);
      }
      const current = await client.call<DeploymentView>('GET', `/v1/deployments/${deployment.id}`);
      if (isTerminal(current.status)) return current;
    } catch (error) {
      lostSince ??= Date.now();
      if (Date.now() - lostSince > RECONNECT_FOR_MS) throw error;
      if (lostSince === Date.now()) out.progress(`${tag}lost the connection to Maestro; reconnecting`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
