import type { Logger } from '../common/index.js';
import { errorMessage } from '../common/index.js';
import type { Deployment, Store } from '../store/index.js';
import { decideDeployment } from './deployment-decision.js';
import type { Deployer, DeploymentPlan } from './deployer.js';
import type { KeyedLock } from './keyed-lock.js';

/**
 * Observe, decide, act, for every unfinished deployment: start its build, start its rollout once the
 * build is done, end it when the build failed. Runs on a short tick and whenever something happened,
 * so builds finished by other runners (other machines) are picked up too, and a restarted control
 * plane resumes what the records say was in progress.
 */
export class DeploymentReconciler {
  private readonly rollouts = new Map<string, Promise<unknown>>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private again = false;
  private stopped = true;

  constructor(
    private readonly store: Store,
    private readonly deployer: Deployer,
    private readonly locks: KeyedLock,
    private readonly logger: Logger,
    private readonly tickMs = 500,
  ) {}

  start(): void {
    this.stopped = false;
    this.wake();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** Reconcile now (coalesced with a tick already running). */
  wake(): void {
    if (this.stopped) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.ticking = this.tick()
      .catch((error: unknown) => this.logger.warn({ err: errorMessage(error) }, 'reconciling deployments failed'))
      .finally(() => {
        this.ticking = undefined;
        if (this.stopped) return;
        if (this.again) {
          this.again = false;
          this.wake();
          return;
        }
        this.timer = setTimeout(() => this.wake(), this.tickMs);
        this.timer.unref();
      });
  }

  /** Rollouts running in this process (tests and shutdown wait for them). */
  async idle(): Promise<void> {
    while (this.rollouts.size > 0 || this.ticking) {
      await Promise.allSettled([...this.rollouts.values(), this.ticking]);
    }
  }

  private async tick(): Promise<void> {
    const unfinished = await this.store.deployments.unfinishedWithProgress();
    for (const { deployment, build, job } of unfinished) {
      const plan = deployment.config as DeploymentPlan;
      const dependenciesInProgress = dependenciesStillDeploying(deployment, unfinished.map((entry) => entry.deployment));
      const decision = decideDeployment({
        status: deployment.status,
        ...(build ? { build: { status: build.status, ...(build.error ? { error: build.error } : {}) } } : {}),
        ...(job ? { job: { status: job.status, ...(job.error ? { error: job.error } : {}) } } : {}),
        rolloutRunning: this.rollouts.has(deployment.id),
        ...(plan.buildOnly ? { buildOnly: true } : {}),
        ...(dependenciesInProgress.length > 0 ? { dependenciesInProgress } : {}),
      });
      switch (decision.kind) {
        case 'start_build':
          if ((await this.deployer.startBuild(deployment)) === 'reused') this.again = true;
          break;
        case 'start_rollout':
          this.launchRollout(deployment);
          break;
        case 'complete_build':
          await this.deployer.completeReleaseBuild(deployment);
          break;
        case 'fail':
          await this.deployer.fail(deployment, decision.reason);
          break;
        case 'cancel':
          await this.deployer.fail(deployment, decision.reason, undefined, 'cancelled');
          break;
        case 'wait':
          break;
      }
    }
  }

  /** One rollout at a time per service and environment; the next waits its turn. */
  private launchRollout(deployment: Deployment): void {
    const key = `${deployment.serviceId}/${deployment.environmentId}`;
    const task = this.locks
      .run(key, () => this.deployer.rollout(deployment.id))
      .catch((error: unknown) => this.logger.error({ deployment: deployment.id, err: errorMessage(error) }, 'rollout crashed'))
      .finally(() => {
        this.rollouts.delete(deployment.id);
        this.wake();
      });
    this.rollouts.set(deployment.id, task);
  }
}

/** The services named in this deployment's `depends_on` that have a deployment to the same environment still in progress. */
function dependenciesStillDeploying(deployment: Deployment, unfinished: readonly Deployment[]): string[] {
  const needs = (deployment.config as DeploymentPlan).service.dependsOn;
  if (needs.length === 0) return [];
  return unfinished
    .filter((other) => other.id !== deployment.id && other.environmentId === deployment.environmentId && other.projectId === deployment.projectId)
    .map((other) => (other.config as DeploymentPlan).service.service)
    .filter((name) => needs.includes(name));
}
