import type { BuildStatus, DeploymentStatus, JobStatus } from '../store/index.js';

/** What the reconciler sees of one unfinished deployment. */
export interface DeploymentObservation {
  status: DeploymentStatus;
  build?: { status: BuildStatus; error?: string };
  job?: { status: JobStatus; error?: string };
  /** A rollout for it is running in this control plane now. */
  rolloutRunning: boolean;
  /** A release build (of a tag): built and kept, never rolled out. */
  buildOnly?: boolean;
  /**
   * Services this one depends on (`depends_on`) whose deployments to the same environment are still in
   * progress: its rollout waits for them, so a new environment starts in dependency order.
   */
  dependenciesInProgress?: string[];
}

export type DeploymentDecision =
  | { kind: 'start_build' }
  | { kind: 'start_rollout' }
  | { kind: 'complete_build' }
  | { kind: 'fail'; reason: string }
  | { kind: 'cancel'; reason: string }
  | { kind: 'wait' };

/**
 * The next step for an unfinished deployment, from its records alone: so a control plane that starts
 * again picks every deployment up where the records say it was.
 */
export function decideDeployment(observed: DeploymentObservation): DeploymentDecision {
  const { status, build, job } = observed;
  const rollout = (): DeploymentDecision =>
    observed.rolloutRunning || (observed.dependenciesInProgress?.length ?? 0) > 0 ? { kind: 'wait' } : { kind: 'start_rollout' };
  if (status === 'deploying') return observed.rolloutRunning ? { kind: 'wait' } : { kind: 'start_rollout' };
  if (status !== 'pending' && status !== 'building') return { kind: 'wait' };
  if (!build) return { kind: 'start_build' };
  switch (build.status) {
    case 'succeeded':
      if (observed.buildOnly) return { kind: 'complete_build' };
      return rollout();
    case 'failed':
      return { kind: 'fail', reason: build.error ?? 'the build failed' };
    case 'cancelled':
      return { kind: 'cancel', reason: 'the build was cancelled' };
    default:
      // The build is pending or running: its job says whether anything is still working on it.
      if (!job) return { kind: 'start_build' };
      if (job.status === 'failed') return { kind: 'fail', reason: job.error ?? 'the build job failed' };
      if (job.status === 'cancelled') return { kind: 'cancel', reason: 'the build was cancelled' };
      return { kind: 'wait' };
  }
}
