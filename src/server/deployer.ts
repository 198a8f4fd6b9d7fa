import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { packArtifact, runBuild, runCommand, type ContentStore } from '../build/index.js';
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
}

/**
 * Carries one deployment from its source to live traffic: build (or reuse the build of the same
 * source), then the rollout loop, which asks the strategy for the next action and carries it out.
 * On any failure the new revision is stopped and whatever served before keeps serving.
 */
export class Deployer {
  constructor(
    private readonly deps: {
      store: Store;
      bus: EventBus;
      paths: DataPaths;
      sources: ContentStore;
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

  async run(deployment: Deployment): Promise<Deployment> {
    const { store } = this.deps;
    const plan = deployment.config as DeploymentPlan;
    const log = this.log(deployment);
    let revision: Revision | undefined;
    try {
      await store.deployments.transition(deployment.id, 'building');
      await log.status('building');
      const artifactDigest = await this.build(deployment, plan.service, log);

      revision = await store.revisions.create({
        serviceId: deployment.serviceId,
        environmentId: deployment.environmentId,
        artifactDigest,
        config: plan.service,
      });
      await store.deployments.transition(deployment.id, 'deploying', { revisionId: revision.id });
      await log.status('deploying', { revision: revision.id });

      const release = await this.rollout(deployment, revision, plan, log);
      const done = await store.deployments.transition(deployment.id, 'succeeded', { releaseId: release.id });
      await log.status('succeeded', { release: release.number, revision: revision.id });
      await log.flush();
      return done;
    } catch (error) {
      const reason = errorMessage(error);
      if (revision) {
        await this.deps.runner.stop(revision.id, 0).catch(() => undefined);
        await store.revisions.setState(revision.id, 'failed', reason).catch(() => undefined);
      }
      const details = (error as MaestroError).details as { logTail?: string[] } | undefined;
      if (details?.logTail && (error as MaestroError).code === 'step_failed') for (const line of details.logTail) await log.line(line, 'stderr');
      const failed = await store.deployments.transition(deployment.id, 'failed', { error: reason });
      await log.status('failed', { error: reason });
      await log.flush();
      return failed;
    }
  }

  /** The artifact for this source and build configuration: reused when the same inputs built before. */
  private async build(deployment: Deployment, service: ServiceConfig, log: DeploymentLog): Promise<string> {
    const { store, sources, artifacts, paths } = this.deps;
    const key = buildKey(deployment.sourceDigest, service);
    const previous = (await store.settings.get(`build-output:${key}`)) as string | undefined;
    if (previous && (await artifacts.has(previous))) {
      await log.step('build', 'skipped', { reason: 'the same source and build configuration were built before', artifact: previous });
      return previous;
    }
    const build = await store.builds.create({ deploymentId: deployment.id, sourceDigest: deployment.sourceDigest });
    await store.builds.setStatus(build.id, 'running');
    const workDir = join(paths.work, deployment.id);
    try {
      await log.step('build', 'started');
      const result = await runBuild({
        sourceArchive: sources.path(deployment.sourceDigest),
        workDir,
        servicePath: service.path,
        ...(service.build.install ? { install: service.build.install } : {}),
        ...(service.build.command ? { command: service.build.command } : {}),
        env: service.env,
        onLog: (line, stream) => void log.line(line, stream),
      });
      for (const step of result.steps) {
        await log.step(step.name, step.status === 'succeeded' ? 'succeeded' : step.status === 'skipped' ? 'skipped' : 'failed', {
          command: step.command,
          durationMs: step.durationMs,
        });
      }
      // The whole tree is the artifact: a service in a monorepo runs beside the workspace packages it uses.
      const artifact = await packArtifact(result.sourceDir, artifacts);
      await store.artifacts.record({ digest: artifact.digest, sizeBytes: artifact.size, path: artifacts.path(artifact.digest) });
      await store.builds.finish(build.id, { status: 'succeeded', artifactDigest: artifact.digest });
      await store.settings.set(`build-output:${key}`, artifact.digest);
      await log.step('build', 'succeeded', { artifact: artifact.digest });
      return artifact.digest;
    } catch (error) {
      await store.builds.finish(build.id, { status: 'failed', error: errorMessage(error) });
      throw error;
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }

  /** The observe-decide-act loop of the immediate strategy. */
  private async rollout(deployment: Deployment, revision: Revision, plan: DeploymentPlan, log: DeploymentLog): Promise<Release> {
    const { store, runner, options } = this.deps;
    const config = plan.service;
    const stable = await store.live.get(deployment.serviceId, deployment.environmentId);
    const state: Omit<RolloutObservation, 'target'> & { failure?: string; release?: Release } = {
      ...(stable ? { stable: { revisionId: stable.revisionId, retired: false } } : {}),
      releaseCommand: config.release ? 'pending' : 'none',
      trafficOnTarget: false,
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
          state.release = await this.switchTraffic(deployment, revision, stable?.revisionId);
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
    .update(JSON.stringify([sourceDigest, service.path, service.build.install ?? '', service.build.command ?? '', service.env]))
    .digest('hex');
}
