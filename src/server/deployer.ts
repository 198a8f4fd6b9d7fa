import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { plannedSteps, runCommand, type ContentStore, type SandboxPolicy } from '../build/index.js';
import { MaestroError, errorMessage, type Logger } from '../common/index.js';
import type { EnvironmentConfig, ServiceConfig } from '../manifest/index.js';
import { decideImmediate, type RolloutObservation } from '../rollout/index.js';
import type { Deployment, Release, Revision, Store } from '../store/index.js';
import { appEnvironment } from './replica-spec.js';
import type { RevisionRunner } from './revisions.js';
import type { RouteSync } from './route-sync.js';
import type { WarmPool } from './warm-pool.js';
import { DeploymentLog } from './deployment-log.js';
import type { EventBus } from '../events/index.js';
import type { DataPaths } from './paths.js';

/** What a deployment record carries: the resolved configuration it was created with. */
export interface DeploymentPlan {
  service: ServiceConfig;
  environment: EnvironmentConfig;
}

export interface DeployerOptions {
  /** How long a new revision may take to become healthy. */
  startTimeoutMs: number;
  /** How long the optional release command may run. */
  releaseTimeoutMs: number;
  /** How long a build may run, all steps together, unless the manifest says (build.timeout). */
  buildTimeoutMs?: number;
  /** Whether builds run in bubblewrap: when available ('auto'), always ('require') or never ('off'). */
  sandbox?: SandboxPolicy;
}

export const BUILD_JOB = 'build';

/**
 * Carries a deployment from its source to live traffic in two halves: the build (a queued job that a
 * runner executes, or nothing at all when the same inputs were built before) and the rollout loop,
 * which asks the strategy for the next action and carries it out. On any failure the new revision is
 * stopped and whatever served before keeps serving.
 */
export class Deployer {
  constructor(
    private readonly deps: {
      store: Store;
      bus: EventBus;
      paths: DataPaths;
      artifacts: ContentStore;
      runner: RevisionRunner;
      routes: RouteSync;
      warm: WarmPool;
      logger: Logger;
      options: DeployerOptions;
    },
  ) {}

  log(deployment: Pick<Deployment, 'id' | 'projectId'>): DeploymentLog {
    return new DeploymentLog(this.deps.store, this.deps.bus, this.deps.paths.deploymentLogs, deployment.id, deployment.projectId);
  }

  /**
   * pending -> building with a queued build job, or straight to deploying when this source and build
   * configuration were built before (the build is recorded as a full cache hit).
   */
  async startBuild(deployment: Deployment): Promise<'queued' | 'reused'> {
    const { store, artifacts } = this.deps;
    const plan = deployment.config as DeploymentPlan;
    const log = this.log(deployment);
    const key = buildKey(deployment.sourceDigest, plan.service);
    const previous = (await store.settings.get(`build-output:${key}`)) as string | undefined;
    const build = await store.builds.create({ deploymentId: deployment.id, sourceDigest: deployment.sourceDigest });
    if (previous && (await artifacts.has(previous))) {
      await store.buildSteps.plan(build.id, plannedSteps(plan.service.build));
      for (const name of ['install', 'build', 'test', 'package'] as const) {
        await store.buildSteps.finish(build.id, name, { status: 'skipped', cache: 'hit' });
      }
      await store.builds.finish(build.id, { status: 'succeeded', artifactDigest: previous });
      if (deployment.status === 'pending') await store.deployments.transition(deployment.id, 'building');
      await log.step('build', 'skipped', { reason: 'the same source and build configuration were built before', artifact: previous, cache: 'hit' });
      return 'reused';
    }
    await store.jobs.enqueue({ kind: BUILD_JOB, projectId: deployment.projectId, buildId: build.id, payload: { deploymentId: deployment.id } });
    if (deployment.status === 'pending') await store.deployments.transition(deployment.id, 'building');
    await log.status('building', { build: build.id });
    return 'queued';
  }

  /**
   * The rollout half: from a built artifact to live traffic. Also resumes a rollout that a crash cut
   * short: the revision it created is reused, adopted replicas count as started.
   */
  async rollout(deploymentId: string): Promise<Deployment> {
    const { store } = this.deps;
    let deployment = (await store.deployments.get(deploymentId))!;
    const plan = deployment.config as DeploymentPlan;
    const log = this.log(deployment);
    let revision: Revision | undefined = deployment.revisionId ? await store.revisions.get(deployment.revisionId) : undefined;
    try {
      if (!revision) {
        const builds = await store.builds.forDeployment(deployment.id);
        const artifactDigest = builds.at(-1)?.artifactDigest;
        if (!artifactDigest) throw new MaestroError('internal', `deployment ${deployment.id} has no built artifact`);
        revision = await store.revisions.create({
          serviceId: deployment.serviceId,
          environmentId: deployment.environmentId,
          artifactDigest,
          config: plan.service,
        });
        deployment = await store.deployments.transition(deployment.id, 'deploying', { revisionId: revision.id });
        await log.status('deploying', { revision: revision.id });
      } else {
        await log.progress(`resuming the rollout of ${revision.id}`);
      }
      const release = await this.rolloutLoop(deployment, revision, plan, log);
      const done = await store.deployments.transition(deployment.id, 'succeeded', { releaseId: release.id });
      await log.status('succeeded', { release: release.number, revision: revision.id });
      await log.flush();
      return done;
    } catch (error) {
      return this.fail(deployment, errorMessage(error), revision);
    }
  }

  /** End a deployment as failed; its revision (if any) is stopped, and what served keeps serving. */
  async fail(deployment: Deployment, reason: string, revision?: Revision, status: 'failed' | 'cancelled' = 'failed'): Promise<Deployment> {
    const { store } = this.deps;
    const log = this.log(deployment);
    const revisionId = revision?.id ?? deployment.revisionId;
    if (revisionId) {
      const live = await store.live.get(deployment.serviceId, deployment.environmentId);
      if (live?.revisionId !== revisionId) {
        await this.deps.runner.stop(revisionId, 0).catch(() => undefined);
        await store.revisions.setState(revisionId, 'failed', reason).catch(() => undefined);
      }
    }
    const failed = await store.deployments.transition(deployment.id, status, { error: reason });
    await log.status(status, { error: reason });
    await log.flush();
    return failed;
  }

  /** The observe-decide-act loop of the immediate strategy. */
  private async rolloutLoop(deployment: Deployment, revision: Revision, plan: DeploymentPlan, log: DeploymentLog): Promise<Release> {
    const { store, runner, options } = this.deps;
    const config = plan.service;
    const current = await store.live.get(deployment.serviceId, deployment.environmentId);
    // Resuming after the switch: the target is live already, and the revision before it is the stable one.
    const alreadyLive = current?.revisionId === revision.id;
    const stableId = alreadyLive ? current?.previousRevisionId : current?.revisionId;
    const releaseDone = Boolean(await store.settings.get(`release-command:${revision.id}`));
    const state: Omit<RolloutObservation, 'target'> & { failure?: string; release?: Release } = {
      ...(stableId ? { stable: { revisionId: stableId, retired: false } } : {}),
      releaseCommand: !config.release ? 'none' : releaseDone ? 'succeeded' : 'pending',
      trafficOnTarget: alreadyLive,
      ...(alreadyLive ? { release: (await store.releases.list(deployment.serviceId, deployment.environmentId, 1))[0] } : {}),
    };
    for (let round = 0; round < 1000; round += 1) {
      const replicas = runner.replicas(revision.id);
      const action = decideImmediate({
        ...state,
        target: {
          revisionId: revision.id,
          desiredReplicas: config.replicas,
          startedReplicas: replicas.length,
          healthyReplicas: replicas.filter((replica) => replica.state === 'healthy').length,
          ...(state.failure ? { failure: state.failure } : {}),
        },
      });
      switch (action.kind) {
        case 'run_release':
          try {
            await log.step('release', 'started', { command: config.release });
            await this.runRelease(revision, config, log);
            await store.settings.set(`release-command:${revision.id}`, true);
            await log.step('release', 'succeeded');
            state.releaseCommand = 'succeeded';
          } catch (error) {
            await log.step('release', 'failed');
            state.releaseCommand = 'failed';
            state.releaseFailure = errorMessage(error);
          }
          break;
        case 'start_replicas':
          await log.progress(`starting ${action.count} replica${action.count === 1 ? '' : 's'} of ${revision.id}`);
          await runner.start(revision, config, action.count);
          break;
        case 'await_healthy':
          try {
            await runner.awaitHealthy(revision.id, options.startTimeoutMs);
            await log.progress(`${revision.id} is healthy`);
          } catch (error) {
            state.failure = errorMessage(error);
            const details = (error as MaestroError).details as { logTail?: string[] } | undefined;
            if (details?.logTail) for (const line of details.logTail) await log.line(line, 'stderr');
          }
          break;
        case 'shift_traffic':
          state.release = await this.switchTraffic(deployment, revision, stableId);
          state.trafficOnTarget = true;
          await log.progress(`traffic switched to ${revision.id} (release ${state.release.number})`);
          break;
        case 'keep_warm':
          await this.deps.warm.keep({
            revisionId: action.revisionId,
            serviceId: deployment.serviceId,
            environmentId: deployment.environmentId,
            forMs: plan.environment.warmForMs,
            drainMs: plan.environment.drainMs,
          });
          if (state.stable) state.stable = { ...state.stable, retired: true };
          break;
        case 'complete':
          if (!state.release) throw new MaestroError('internal', 'the rollout completed without a release');
          return state.release;
        case 'fail':
          throw new MaestroError('deploy_failed', action.reason);
      }
    }
    throw new MaestroError('internal', 'the rollout did not converge');
  }

  /** Make the revision live: the store first (the truth), then the router; undo the store if the router refuses. */
  private async switchTraffic(deployment: Deployment, revision: Revision, previousRevisionId: string | undefined): Promise<Release> {
    const { store, routes } = this.deps;
    const before = await store.live.get(deployment.serviceId, deployment.environmentId);
    const release = await store.releases.create({
      serviceId: deployment.serviceId,
      environmentId: deployment.environmentId,
      revisionId: revision.id,
      deploymentId: deployment.id,
      kind: 'deploy',
    });
    await store.live.set(deployment.serviceId, deployment.environmentId, {
      releaseId: release.id,
      revisionId: revision.id,
      ...(previousRevisionId ? { previousRevisionId } : {}),
    });
    await store.revisions.setState(revision.id, 'healthy');
    try {
      await routes.push();
    } catch (error) {
      if (before) await store.live.set(deployment.serviceId, deployment.environmentId, before);
      throw new MaestroError('unavailable', `the router did not take the new route table: ${errorMessage(error)}`);
    }
    return release;
  }

  private async runRelease(revision: Revision, config: ServiceConfig, log: DeploymentLog): Promise<void> {
    const dir = join(await this.deps.runner.materialize(revision), config.path);
    const result = await runCommand({
      command: config.release!,
      cwd: dir,
      env: appEnvironment(config, dir, revision.id),
      onLog: (line, stream) => void log.line(line, stream),
      timeoutMs: this.deps.options.releaseTimeoutMs,
    });
    if (result.exitCode !== 0) {
      throw new MaestroError(
        'step_failed',
        `the release command \`${config.release}\` failed with exit code ${result.exitCode}${result.lastLine ? `: ${result.lastLine}` : ''}; traffic was not moved`,
      );
    }
  }
}

/** Everything that decides a build's output; the same key means the same artifact. */
export function buildKey(sourceDigest: string, service: ServiceConfig): string {
  return createHash('sha256')
    .update(JSON.stringify([sourceDigest, service.path, service.build.install ?? '', service.build.command ?? '', service.build.test ?? '', service.env]))
    .digest('hex');
}
