/** What Maestro tells GitHub or GitLab about a commit at each moment of its deployment: the state and the words. */
import type { CommitState, DeploymentStatus } from '../store/index.js';

/** The moments a commit status reports. */
export type StatusOutcome =
  | { kind: 'building'; environment: string }
  | { kind: 'rolling_out'; environment: string }
  | { kind: 'deployed'; environment: string; url: string }
  | { kind: 'failed'; environment: string; reason: string }
  | { kind: 'cancelled'; environment: string; reason?: string };

export interface StatusWording {
  state: CommitState;
  description: string;
  targetUrl?: string;
}

/** GitHub refuses descriptions over 140 characters; GitLab gets the same text. */
export const MAX_DESCRIPTION = 140;

export function shortDescription(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length <= MAX_DESCRIPTION ? oneLine : `${oneLine.slice(0, MAX_DESCRIPTION - 1)}…`;
}

/**
 * The state and description for a moment. `error` is what a cancelled deployment reports (no verdict on
 * the code); GitLab shows it as canceled.
 */
export function describeStatus(outcome: StatusOutcome): StatusWording {
  switch (outcome.kind) {
    case 'building':
      return { state: 'pending', description: shortDescription(`Building for ${outcome.environment}`) };
    case 'rolling_out':
      return { state: 'pending', description: shortDescription(`Built; rolling out to ${outcome.environment}`) };
    case 'deployed':
      return { state: 'success', description: shortDescription(`Deployed to ${outcome.environment}: ${outcome.url}`), targetUrl: outcome.url };
    case 'failed':
      return { state: 'failure', description: shortDescription(`Failed in ${outcome.environment}: ${outcome.reason}`) };
    case 'cancelled':
      return { state: 'error', description: shortDescription(`Cancelled in ${outcome.environment}${outcome.reason ? `: ${outcome.reason}` : ''}`) };
  }
}

/** One status line per environment (and service, when a project has several), e.g. `maestro/production`. */
export function statusContext(environment: string, service?: string): string {
  return service ? `maestro/${environment}/${service}` : `maestro/${environment}`;
}

/** What outcomeOfDeployments reads of each deployment (the API's deployment view has it). */
export interface DeploymentSummary {
  service: string;
  status: DeploymentStatus;
  url: string;
  error: string | null;
}

/**
 * The moment a commit's deployments to one environment are at, all services together: still building,
 * rolling out, all deployed (the first service's URL), or the first failure or cancellation. Undefined
 * for no deployments.
 */
export function outcomeOfDeployments(environment: string, deployments: readonly DeploymentSummary[]): StatusOutcome | undefined {
  if (deployments.length === 0) return undefined;
  const some = (...statuses: DeploymentStatus[]) => deployments.find((d) => statuses.includes(d.status));
  if (some('pending', 'building')) return { kind: 'building', environment };
  if (some('deploying')) return { kind: 'rolling_out', environment };
  const failed = some('failed', 'rolled_back');
  const named = (d: DeploymentSummary, what: string) => (deployments.length > 1 ? `${d.service}: ${what}` : what);
  if (failed) {
    const why = failed.error ?? (failed.status === 'rolled_back' ? 'rolled back' : 'failed');
    return { kind: 'failed', environment, reason: named(failed, failed.status === 'rolled_back' && !why.startsWith('rolled back') ? `rolled back: ${why}` : why) };
  }
  const cancelled = some('cancelled');
  if (cancelled) return { kind: 'cancelled', environment, ...(cancelled.error ? { reason: named(cancelled, cancelled.error) } : {}) };
  return { kind: 'deployed', environment, url: deployments[0]!.url };
}
