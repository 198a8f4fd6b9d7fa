import type { Command } from 'commander';
import type { DeploymentView } from '../../server/index.js';
import { formatDuration } from '../../common/index.js';
import { isTerminal } from '../../store/index.js';
import { ApiClient } from '../api-client.js';
import { resolveCredentials } from '../credentials.js';
import { createOutput } from '../output.js';
import { defaultProject } from '../project-name.js';

interface TargetFlags {
  service: string;
  env: string;
  project?: string;
  json?: boolean;
}

const target = (flags: TargetFlags) =>
  `/v1/projects/${flags.project ?? defaultProject()}/services/${flags.service}/environments/${flags.env}`;

function targetOptions(command: Command): Command {
  return command
    .requiredOption('-s, --service <name>', 'the service')
    .option('-e, --env <environment>', 'the environment', 'production')
    .option('-p, --project <name>', 'the project (default: `project` in ./maestro.yml)')
    .option('--json', 'print JSON');
}

export function rolloutCommands(program: Command): void {
  targetOptions(program.command('promote').description('Move the rollout in progress on: past a pause, or with --full straight to 100%'))
    .option('--full', 'skip every remaining step')
    .addHelpText('after', '\nExamples:\n  maestro promote --service web\n  maestro promote --service web --env staging --full\n')
    .action(async (flags: TargetFlags & { full?: boolean }) => {
      const out = createOutput(flags);
      const view = await new ApiClient(resolveCredentials()).call<DeploymentView>('POST', `${target(flags)}/promote`, { full: Boolean(flags.full) });
      out.result(view, () => `promoting deployment ${view.id} of ${view.service} in ${view.environment}${flags.full ? ' to 100%' : ''}`);
    });

  targetOptions(program.command('abort').description('Stop the rollout in progress: all traffic back to the stable revision at once'))
    .option('--reason <text>', 'why, kept with the deployment')
    .addHelpText('after', '\nExample:\n  maestro abort --service web --reason "checkout errors"\n')
    .action(async (flags: TargetFlags & { reason?: string }) => {
      const out = createOutput(flags);
      const view = await new ApiClient(resolveCredentials()).call<DeploymentView>('POST', `${target(flags)}/abort`, {
        ...(flags.reason ? { reason: flags.reason } : {}),
      });
      out.result(view, () => `deployment ${view.id} of ${view.service} in ${view.environment} is ${view.status}${view.error ? `: ${view.error}` : ''}`);
      process.exitCode = ['rolled_back', 'cancelled', 'failed'].includes(view.status) ? 0 : 1;
    });
}

interface RolloutStatusView {
  deployment: DeploymentView | null;
  strategy: string | null;
  state: {
    phase: string;
    /** 1-based. */
    step?: number;
    steps?: number;
    targetWeight: number;
    detail: string;
    gates?: Array<{ stage: string; webhook: string; nextWeight: number; outcome: string; reason: string; at: string }>;
    providerErrors?: { count: number; since: string; budgetMs: number; reason: string };
  } | null;
  weights: Array<{ revision: string; weight: number }>;
  analysis: Array<{ outcome: string; reason: string; at: string | null }>;
}

/** `12:03:07` of an ISO time, in the reader's time zone. */
const clock = (iso: string): string => new Date(iso).toLocaleTimeString([], { hour12: false });

export function describeRolloutStatus(view: RolloutStatusView): string[] {
  if (!view.deployment) return ['no deployment yet'];
  const lines = [
    `deployment ${view.deployment.id}: ${view.deployment.status}${view.deployment.error ? ` (${view.deployment.error})` : ''}`,
    `strategy   ${view.strategy}${view.state ? `: ${view.state.phase}${view.state.steps ? `, step ${view.state.step ?? 1} of ${view.state.steps}` : ''} — ${view.state.detail}` : ''}`,
    `traffic    ${view.weights.map((w) => `${w.revision} ${w.weight}%`).join(', ') || 'none'}`,
  ];
  const latest = view.analysis.at(-1);
  if (latest) lines.push(`analysis   ${latest.outcome}: ${latest.reason}`);
  const down = view.state?.providerErrors;
  if (down) {
    lines.push(
      `source     failing since ${clock(down.since)} (${down.count} verdicts; the rollout holds, pauses after ${formatDuration(down.budgetMs)}, never rolls back for it): ${down.reason}`,
    );
  }
  for (const gate of view.state?.gates ?? []) lines.push(`gate       ${gate.outcome} at ${clock(gate.at)}: ${gate.webhook} ${gate.reason}`);
  return lines;
}

export function rolloutStatusCommand(program: Command): void {
  targetOptions(program.command('rollout').description('Rollouts').command('status').description("The latest rollout's step, traffic split and analysis"))
    .option('-w, --watch', 'print again every second until the rollout ends')
    .addHelpText('after', '\nExample:\n  maestro rollout status --service web -w\n')
    .action(async (flags: TargetFlags & { watch?: boolean }) => {
      const out = createOutput(flags);
      const client = new ApiClient(resolveCredentials());
      for (;;) {
        const view = await client.call<RolloutStatusView>('GET', `${target(flags)}/rollout`);
        out.result(view, () => describeRolloutStatus(view));
        if (!flags.watch || !view.deployment || isTerminal(view.deployment.status)) return;
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    });
}
