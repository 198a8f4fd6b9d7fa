/** What Maestro tells GitHub or GitLab about a commit at each moment of its deployment: the state and the words. */
import type { CommitState } from '../store/index.js';

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
