import type { Command } from 'commander';
import { MaestroError } from '../../common/index.js';
import {
  completeDryRunInput,
  evaluatePolicies,
  formatDecision,
  readDryRunInput,
  readPolicyTestFile,
  type PolicyDecision,
} from '../../policy/index.js';
import { ApiClient } from '../api-client.js';
import { resolveCredentials } from '../credentials.js';
import { createOutput, table } from '../output.js';
import { defaultProject } from '../project-name.js';

interface WaiverView {
  id: string;
  project: string;
  policy: string;
  artifact: string | null;
  environment: string | null;
  waivedBy: string;
  reason: string;
  state: 'active' | 'expired' | 'revoked';
  expiresAt: string;
  createdAt: string;
  revokedAt: string | null;
}

interface EvaluationView extends Omit<PolicyDecision, 'skipped'> {
  id: string;
  deployment: string;
  environment: string;
  evaluatedAt: string;
  evaluations: number;
}

const part = (value: string): string => encodeURIComponent(value);

function scope(waiver: WaiverView): string {
  const what = waiver.artifact ? `artifact ${waiver.artifact.slice(0, 12)}` : 'any artifact';
  return waiver.environment ? `${what} in ${waiver.environment}` : what;
}

/** `maestro policy ...`: test policies against an input, waive them, list waivers, see a deployment's decision. */
export function policyCommands(program: Command): void {
  const policy = program.command('policy').description('Policies checked before each rollout: test them, waive them, see their decisions');

  policy
    .command('test')
    .description("Evaluate a file's policies against an input document, without deploying; exit 1 when denied")
    .argument('<file>', 'a maestro.yml (its policies:) or an organisation policy file')
    .requiredOption('-i, --input <file>', 'the input document as JSON (see examples/policies/input.json)')
    .option('-e, --env <environment>', 'the environment to evaluate for', 'production')
    .option('--server', "ask the server, so its organisation policies, Maestro's defaults and (with --project) the project's waivers count too")
    .option('-p, --project <name>', "with --server: the project whose waivers count")
    .option('--json', 'print the decision as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  maestro policy test maestro.yml --input input.json\n  maestro policy test examples/policies/freeze-window.yml --input examples/policies/input.json --env production\n  maestro policy test maestro.yml --input input.json --server --project shop\n\nThe input may leave out environment (from --env) and time.hour/weekday (from time.now).\n',
    )
    .action(async (file: string, options: { input: string; env: string; server?: boolean; project?: string; json?: boolean }) => {
      const out = createOutput(options);
      const [tested, raw] = await Promise.all([readPolicyTestFile(file), readDryRunInput(options.input)]);
      let decision: PolicyDecision;
      if (options.server) {
        if (tested.kind !== 'manifest') {
          throw new MaestroError(
            'validation_error',
            `${file} is an organisation policy file: test it without --server (the server's organisation policies come from its --policies folder)`,
          );
        }
        decision = await new ApiClient(resolveCredentials()).call<PolicyDecision>('POST', '/v1/policies/dryrun', {
          policies: tested.specs,
          input: raw,
          environment: options.env,
          ...(options.project ? { project: options.project } : {}),
        });
      } else {
        if (tested.policies.length === 0) throw new MaestroError('validation_error', `${file} has no policies to test`);
        const now = new Date();
        decision = evaluatePolicies(tested.policies, completeDryRunInput(raw, options.env, now), [], now);
      }
      out.result(decision, () => formatDecision(decision));
      process.exitCode = decision.outcome === 'deny' ? 1 : 0;
    });

  policy
    .command('waive')
    .description('Let releases through a policy: one artifact (for 30 days), or any artifact for a time')
    .argument('<policy>', 'the policy name, as results show it')
    .option('-p, --project <name>', 'the project (default: `project` in ./maestro.yml)')
    .option('--artifact <digest>', "only releases of this artifact (its sha256)")
    .option('--for <duration>', 'any artifact, for this long (like 24h; at most 90d)')
    .option('-e, --env <environment>', 'only in this environment')
    .requiredOption('--reason <text>', 'why: kept, and shown with every result the waiver lets through')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  maestro policy waive no-critical-vulnerabilities --project shop --artifact 3f2a...c1 --reason "CVE-2024-1234 is not reachable: we never parse untrusted YAML"\n  maestro policy waive freeze-window --for 2h --env production --reason "hotfix for the checkout outage"\n',
    )
    .action(async (name: string, options: { project?: string; artifact?: string; for?: string; env?: string; reason: string; json?: boolean }) => {
      const out = createOutput(options);
      const project = options.project ?? defaultProject();
      const created = await new ApiClient(resolveCredentials()).call<{ waiver: WaiverView; note?: string }>('POST', `/v1/projects/${part(project)}/waivers`, {
        policy: name,
        reason: options.reason,
        ...(options.artifact !== undefined ? { artifact: options.artifact } : {}),
        ...(options.for !== undefined ? { for: options.for } : {}),
        ...(options.env !== undefined ? { environment: options.env } : {}),
      });
      if (created.note && !out.json) process.stderr.write(`note: ${created.note}\n`);
      const w = created.waiver;
      out.result(created, () => `waived ${w.policy} in ${w.project} for ${scope(w)} until ${w.expiresAt} (${w.id})`);
    });

  policy
    .command('waivers')
    .description("A project's waivers in force (with --all, the expired and revoked ones too)")
    .option('-p, --project <name>', 'the project (default: `project` in ./maestro.yml)')
    .option('-a, --all', 'expired and revoked waivers too')
    .option('--json', 'print JSON')
    .action(async (options: { project?: string; all?: boolean; json?: boolean }) => {
      const out = createOutput(options);
      const project = options.project ?? defaultProject();
      const result = await new ApiClient(resolveCredentials()).call<{ waivers: WaiverView[] }>(
        'GET',
        `/v1/projects/${part(project)}/waivers${options.all ? '?all=true' : ''}`,
      );
      out.result(result, () =>
        result.waivers.length === 0
          ? `no ${options.all ? '' : 'active '}waivers in ${project}`
          : table([
              ['ID', 'POLICY', 'COVERS', 'STATE', 'EXPIRES', 'BY', 'REASON'],
              ...result.waivers.map((w) => [w.id, w.policy, scope(w), w.state, w.expiresAt, w.waivedBy, w.reason]),
            ]),
      );
    });

  policy
    .command('revoke')
    .description('End a waiver now')
    .argument('<waiver>', 'the waiver id (see `maestro policy waivers`)')
    .option('-p, --project <name>', 'the project (default: `project` in ./maestro.yml)')
    .option('--json', 'print JSON')
    .action(async (id: string, options: { project?: string; json?: boolean }) => {
      const out = createOutput(options);
      const project = options.project ?? defaultProject();
      const result = await new ApiClient(resolveCredentials()).call<{ waiver: WaiverView }>('DELETE', `/v1/projects/${part(project)}/waivers/${part(id)}`);
      out.result(result, () => `revoked ${result.waiver.id} (${result.waiver.policy} for ${scope(result.waiver)})`);
    });

  policy
    .command('show')
    .description("The policy gate's decision on a deployment: every result, and what was waived")
    .argument('<deployment>', 'the deployment id')
    .option('--json', 'print JSON (with the input the policies read)')
    .action(async (deployment: string, options: { json?: boolean }) => {
      const out = createOutput(options);
      const result = await new ApiClient(resolveCredentials()).call<EvaluationView>('GET', `/v1/deployments/${part(deployment)}/policy`);
      out.result(result, () => [
        `deployment ${result.deployment} to ${result.environment}, evaluated ${result.evaluatedAt}`,
        ...formatDecision({ outcome: result.outcome, results: result.results, skipped: [] }),
      ]);
    });
}
