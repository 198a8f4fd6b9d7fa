/**
 * The deployment state machine, as data and pure functions. The store enforces it on every
 * transition; the API and the console use it to know which actions a deployment still allows.
 *
 *   pending -> building -> deploying -> succeeded -> rolled_back
 *      |          |           |
 *      +----------+-----------+--> failed | cancelled
 *   (pending may skip building when the artifact already exists; a release build, of a tag, ends
 *   succeeded straight from building: it is built and kept, not rolled out)
 */
export const DEPLOYMENT_STATUSES = [
  'pending',
  'building',
  'deploying',
  'succeeded',
  'failed',
  'rolled_back',
  'cancelled',
] as const;

export type DeploymentStatus = (typeof DEPLOYMENT_STATUSES)[number];

export const IN_PROGRESS_STATUSES = ['pending', 'building', 'deploying'] as const satisfies readonly DeploymentStatus[];

const ALLOWED: Record<DeploymentStatus, readonly DeploymentStatus[]> = {
  pending: ['building', 'deploying', 'failed', 'cancelled'],
  building: ['deploying', 'succeeded', 'failed', 'cancelled'],
  // A progressive rollout that analysis (or a person) stopped after traffic moved ends rolled back.
  deploying: ['succeeded', 'failed', 'cancelled', 'rolled_back'],
  succeeded: ['rolled_back'],
  failed: [],
  rolled_back: [],
  cancelled: [],
};

export function isDeploymentStatus(value: unknown): value is DeploymentStatus {
  return typeof value === 'string' && (DEPLOYMENT_STATUSES as readonly string[]).includes(value);
}

export function canTransition(from: DeploymentStatus, to: DeploymentStatus): boolean {
  return ALLOWED[from].includes(to);
}

/** The statuses a deployment in `from` may move to next. */
export function nextStatuses(from: DeploymentStatus): readonly DeploymentStatus[] {
  return ALLOWED[from];
}

/** Finished: the deployment will do no more work. `succeeded` counts, although a later rollback may relabel it. */
export function isTerminal(status: DeploymentStatus): boolean {
  return !isInProgress(status);
}

/** Still working: a crash-recovery pass must resume or fail these. */
export function isInProgress(status: DeploymentStatus): boolean {
  return (IN_PROGRESS_STATUSES as readonly DeploymentStatus[]).includes(status);
}
