import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { plannedSteps, runCommand, type ContentStore, type SandboxPolicy } from '../build/index.js';
import { MaestroError, errorMessage, type Logger } from '../common/index.js';
import type { EnvironmentConfig, PolicySpec, ServiceConfig } from '../manifest/index.js';
import {
  decideRollout,
  initialRolloutState,
  previewHost,
  type RevisionView,
  type RolloutState,
  type StrategyObservation as RolloutObservation,
} from '../rollout/index.js';
import { momentText, shownWebhook, type GateResult, type Weights } from '../rollout/strategies/index.js';
import { RolloutAnalysis } from '../rollout/index.js';
import { BUILD_STEP_NAMES, type Deployment, type Release, type Revision, type RolloutRequests, type Store } from '../store/index.js';
import { appEnvironment } from './replica-spec.js';
import type { RevisionRunner } from './revisions.js';
import type { RouteSync } from './route-sync.js';
import type { WarmPool } from './warm-pool.js';
import type { ReleaseGate } from './release-gate.js';
import { DeploymentLog } from './deployment-log.js';
import { callGate, type GateContext } from './gate-call.js';
import type { EventBus } from '../events/index.js';
import type { DataPaths } from './paths.js';

/** What a deployment record carries: the resolved configuration it was created with. */
export interface DeploymentPlan {
  service: ServiceConfig;
  environment: EnvironmentConfig;
  /** A release build (a pushed tag): the artifact is built and kept, nothing is rolled out. */
  buildOnly?: boolean;
  /** The environment is a branch's or pull request's preview (for policies' `environment.kind`). */
  preview?: boolean;
  /** The `policies:` of the maestro.yml this was deployed from, gated on with the organisation's. */
  policies?: PolicySpec[];
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
  /** A Prometheus-compatible query API for `prometheus:` analysis checks. */
  prometheusUrl?: string;
}

export const BUILD_JOB = 'build';

/** No rollout stays in progress longer: it ends promoted, rolled back, or paused with an alert. */
const PROGRESS_DEADLINE_MS = 10 * 60_000;
/** How often a waiting rollout looks again (verdicts, promote and abort requests). */
const LOOP_WAIT_MS = 100;
/** More actions than any rollout takes (steps, batches, gates, analyses): past it, the strategy is not settling. */
const MAX_ROLLOUT_ACTIONS = 10_000;

type RolloutEnd = { kind: 'complete'; release: Release } | { kind: 'rollback'; reason: string; figures?: Record<string, unknown> };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Ends a rollout loop when the control plane shuts down: the rollout stops where it is, its state saved
 * and the deployment still in progress, and the next start resumes it (as after a crash, but cleanly).
 */
class RolloutInterrupted extends Error {}

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
      gate: ReleaseGate;
      logger: Logger;
      options: DeployerOptions;
    },
  ) {}

  /** Analyses of rollouts running now, by deployment (for `maestro rollout status`). */
  readonly analyses = new Map<string, RolloutAnalysis>();

  private shuttingDown = false;

  /**
   * Rollouts in progress stop at their next decision and stay in progress, to be resumed by the next
   * control plane; without this, shutting down would wait on a rollout paused for `maestro promote`.
   */
  shutDown(): void {
    this.shuttingDown = true;
  }

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
      for (const name of BUILD_STEP_NAMES) {
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
        const build = (await store.builds.forDeployment(deployment.id)).at(-1);
        const artifactDigest = build?.artifactDigest;
        if (!build || !artifactDigest) throw new MaestroError('internal', `deployment ${deployment.id} has no built artifact`);
        // Nothing runs unverified or against policy: a refusal fails the deployment before a revision exists.
        await this.deps.gate.admit(deployment, build, log);
        revision = await store.revisions.create({
          serviceId: deployment.serviceId,
          environmentId: deployment.environmentId,
          artifactDigest,
          config: plan.service,
        });
        deployment = await store.deployments.transition(deployment.id, 'deploying', { revisionId: revision.id });
        await log.status('deploying', { revision: revision.id });
        await log.lifecycle('deployment.started', { revision: revision.id, data: { strategy: plan.environment.strategy.type } });
      } else {
        await log.progress(`resuming the rollout of ${revision.id}`);
      }
      const end = await this.rolloutLoop(deployment, revision, plan, log);
      if (end.kind === 'rollback') return await this.rollBack(deployment, revision, end, log);
      const release = end.release;
      const done = await store.deployments.transition(deployment.id, 'succeeded', { releaseId: release.id });
      await log.status('succeeded', { release: release.number, revision: revision.id });
      if (plan.environment.strategy.type === 'canary') await log.lifecycle('deployment.canary_promoted', { release: release.id, revision: revision.id });
      await log.lifecycle('deployment.succeeded', { release: release.id, revision: revision.id, data: { release: release.number } });
      await log.flush();
      return done;
    } catch (error) {
      if (error instanceof RolloutInterrupted) {
        await log.progress('the control plane is stopping: this rollout resumes where it is when Maestro starts again');
        await log.flush();
        return deployment;
      }
      return this.fail(deployment, errorMessage(error), revision);
    }
  }

  /** A release build is done once its artifact is stored: it ends succeeded without a rollout. */
  async completeReleaseBuild(deployment: Deployment): Promise<Deployment> {
    const log = this.log(deployment);
    const build = (await this.deps.store.builds.forDeployment(deployment.id)).at(-1);
    const artifact = build?.artifactDigest;
    if (build && artifact) {
      try {
        await this.deps.gate.evidenceFor(deployment, build);
      } catch (error) {
        return this.fail(deployment, errorMessage(error));
      }
    }
    const done = await this.deps.store.deployments.transition(deployment.id, 'succeeded');
    await log.status('succeeded', { ...(artifact ? { artifact } : {}), releaseBuild: true });
    await log.flush();
    return done;
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
    await log.lifecycle('deployment.failed', { reason, ...(revisionId ? { revision: revisionId } : {}), data: { status } });
    await log.flush();
    return failed;
  }

  /**
   * The observe-decide-act loop: the environment's strategy (immediate, rolling, blue/green, canary)
   * decides the one next action from what is observed; this carries it out. Its state is saved after
   * every decision, so a restarted control plane continues where it was.
   */
  private async rolloutLoop(deployment: Deployment, revision: Revision, plan: DeploymentPlan, log: DeploymentLog): Promise<RolloutEnd> {
    const { store, runner, options } = this.deps;
    const config = plan.service;
    const strategy = plan.environment.strategy;
    const live = await store.live.get(deployment.serviceId, deployment.environmentId);
    // Resuming after the switch: the target is live already, and the revision before it is the stable one.
    const alreadyLive = live?.revisionId === revision.id;
    const stableId = alreadyLive ? live?.previousRevisionId : live?.revisionId;
    const stable = stableId ? await store.revisions.get(stableId) : undefined;
    const shift = await store.traffic.get(deployment.serviceId, deployment.environmentId);
    let applied: Weights = alreadyLive
      ? [{ revisionId: revision.id, weight: 100 }]
      : stableId
        ? shift?.revisionId === revision.id && shift.weight > 0
          ? [{ revisionId: stableId, weight: 100 - shift.weight }, { revisionId: revision.id, weight: shift.weight }]
          : [{ revisionId: stableId, weight: 100 }]
        : [];
    const local: { releaseCommand: RolloutObservation['releaseCommand']; releaseFailure?: string; failure?: string; release?: Release } = {
      releaseCommand: !config.release ? 'none' : (await store.settings.get(`release-command:${revision.id}`)) ? 'succeeded' : 'pending',
      ...(alreadyLive ? { release: (await store.releases.list(deployment.serviceId, deployment.environmentId, 1))[0] } : {}),
    };
    const view = (id: string, desired: number, failure?: string): RevisionView => {
      const replicas = runner.replicas(id);
      return {
        revisionId: id,
        desiredReplicas: desired,
        startedReplicas: replicas.length,
        healthyReplicas: replicas.filter((replica) => replica.state === 'healthy').length,
        ...(failure ? { failure } : {}),
      };
    };
    let analysis: RolloutAnalysis | undefined;
    // Gate calls run in the background so an abort is seen while a gate thinks; the latest result is observed.
    const gateCalls = new Set<AbortController>();
    let gateResult: GateResult | undefined;
    const gateContext: GateContext = {
      project: config.project,
      service: config.service,
      environment: config.environment,
      deploymentId: deployment.id,
      revisionId: revision.id,
      ...(stableId ? { stableRevisionId: stableId } : {}),
      strategy: strategy.type,
    };
    const observe = (requests: RolloutRequests): RolloutObservation => ({
      now: Date.now(),
      target: view(revision.id, config.replicas, local.failure),
      ...(stable ? { stable: view(stable.id, (stable.config as ServiceConfig).replicas) } : {}),
      appliedWeights: applied,
      releaseCommand: local.releaseCommand,
      ...(local.releaseFailure ? { releaseFailure: local.releaseFailure } : {}),
      ...(analysis?.latest ? { analysis: analysis.latest } : {}),
      ...(gateResult ? { gate: gateResult } : {}),
      requests: { promote: Boolean(requests.promote), fullPromote: Boolean(requests.fullPromote), abort: Boolean(requests.abort) },
      progressDeadlineMs: PROGRESS_DEADLINE_MS,
    });

    const saved = deployment.rolloutState as RolloutState | undefined;
    let state: RolloutState = saved?.targetId === revision.id ? saved : initialRolloutState(strategy, observe({}));
    try {
      // A safety net against a strategy that never settles: it counts actions, not waits, so a rollout
      // paused for `maestro promote` may wait as long as its people take.
      for (let actions = 0; actions < MAX_ROLLOUT_ACTIONS; ) {
        if (this.shuttingDown) throw new RolloutInterrupted();
        const requests = (await store.deployments.get(deployment.id))?.rolloutRequests ?? {};
        const decision = decideRollout(strategy, state, observe(requests));
        const gatesBefore = state.gates?.length ?? 0;
        state = decision.state;
        for (const record of state.gates.slice(gatesBefore)) {
          await log.progress(`gate ${record.webhook} ${record.reason} ${momentText(record)}: ${record.outcome === 'pass' ? 'passed' : 'refused'}`);
        }
        await store.deployments.saveRolloutState(deployment.id, state);
        if (state.consumedRequests.promote || state.consumedRequests.fullPromote || state.consumedRequests.abort) {
          await store.deployments.clearRolloutRequests(deployment.id);
          if (requests.abort) await log.progress(`abort requested${requests.actor ? ` by ${requests.actor}` : ''}`);
          else await log.progress(`promote requested${requests.actor ? ` by ${requests.actor}` : ''}`);
        }
        const action = decision.action;
        if (action.kind !== 'wait') actions += 1;
        switch (action.kind) {
          case 'run_release':
            try {
              await log.step('release', 'started', { command: config.release });
              await this.runRelease(revision, config, log);
              await store.settings.set(`release-command:${revision.id}`, true);
              await log.step('release', 'succeeded');
              local.releaseCommand = 'succeeded';
            } catch (error) {
              await log.step('release', 'failed');
              local.releaseCommand = 'failed';
              local.releaseFailure = errorMessage(error);
            }
            break;
          case 'run_gate': {
            const controller = new AbortController();
            gateCalls.add(controller);
            await log.progress(`asking gate ${shownWebhook(action.gate.webhook)} ${momentText(action.gate)}`);
            void callGate(action.gate, gateContext, { signal: controller.signal }).then((result) => {
              gateCalls.delete(controller);
              gateResult = result;
            });
            break;
          }
          case 'start_replicas': {
            await log.progress(`starting ${action.count} replica${action.count === 1 ? '' : 's'} of ${action.revisionId}`);
            const which = action.revisionId === revision.id ? revision : stable;
            if (which) await runner.start(which, which.config as ServiceConfig, action.count);
            break;
          }
          case 'stop_replicas':
            await log.progress(`stopping ${action.count} replica${action.count === 1 ? '' : 's'} of ${action.revisionId}`);
            await runner.stopSome(action.revisionId, action.count, plan.environment.drainMs);
            break;
          case 'await_healthy':
            try {
              await runner.awaitHealthy(action.revisionId, options.startTimeoutMs);
              await log.progress(`${action.revisionId} is healthy`);
              await log.lifecycle('deployment.health_check', { revision: action.revisionId, data: { healthy: true } });
              if (action.revisionId === revision.id && strategy.type === 'blue_green' && strategy.preview && stableId && !alreadyLive) {
                await store.traffic.set({ serviceId: deployment.serviceId, environmentId: deployment.environmentId, revisionId: revision.id, deploymentId: deployment.id, weight: 0, preview: true });
                await this.deps.routes.push();
                await log.progress(`preview of ${revision.id} at http://${previewHost(config.project, config.service, config.environment)}`);
              }
            } catch (error) {
              if (action.revisionId === revision.id) local.failure = errorMessage(error);
              await log.lifecycle('deployment.health_check', { revision: action.revisionId, reason: errorMessage(error), data: { healthy: false } });
              const details = (error as MaestroError).details as { logTail?: string[] } | undefined;
              if (details?.logTail) for (const line of details.logTail) await log.line(line, 'stderr');
            }
            break;
          case 'set_weights': {
            const weight = action.weights.find((entry) => entry.revisionId === revision.id)?.weight ?? 0;
            if (weight >= 100 || !stableId) {
              local.release = await this.switchTraffic(deployment, revision, stableId);
              await log.progress(`traffic switched to ${revision.id} (release ${local.release.number})`);
            } else {
              await store.traffic.set({
                serviceId: deployment.serviceId,
                environmentId: deployment.environmentId,
                revisionId: revision.id,
                deploymentId: deployment.id,
                weight,
                preview: strategy.type === 'blue_green' && strategy.preview,
              });
              await this.deps.routes.push();
              await log.progress(`traffic: ${weight}% to ${revision.id}, ${100 - weight}% to ${stableId} (${action.reason})`);
              await log.lifecycle('deployment.step_progress', { revision: revision.id, reason: action.reason, data: { weights: action.weights } });
            }
            applied = action.weights.filter((entry) => entry.weight > 0);
            break;
          }
          case 'start_analysis':
            analysis?.stop();
            analysis = new RolloutAnalysis(
              {
                checks: action.checks,
                intervalMs: action.intervalMs,
                minRequests: action.minRequests,
                targetRevision: revision.id,
                ...(action.compareWith ? { compareWith: action.compareWith } : {}),
              },
              this.deps.routes.client,
              options.prometheusUrl,
              this.deps.logger,
              () => undefined,
            );
            await analysis.start();
            this.analyses.set(deployment.id, analysis);
            await log.progress(`analysis started: ${action.checks.length} check${action.checks.length === 1 ? '' : 's'} every ${action.intervalMs}ms`);
            break;
          case 'stop_analysis':
            analysis?.stop();
            analysis = undefined;
            break;
          case 'wait': {
            const until = action.untilMs ?? Date.now() + LOOP_WAIT_MS;
            await sleep(Math.max(10, Math.min(LOOP_WAIT_MS, until - Date.now())));
            break;
          }
          case 'pause':
            await log.progress(`paused: ${action.reason}`);
            break;
          case 'keep_warm':
            await this.deps.warm.keep({
              revisionId: action.revisionId,
              serviceId: deployment.serviceId,
              environmentId: deployment.environmentId,
              forMs: action.forMs ?? plan.environment.warmForMs,
              drainMs: plan.environment.drainMs,
            });
            break;
          case 'complete': {
            const release = local.release ?? (await store.releases.list(deployment.serviceId, deployment.environmentId, 1))[0];
            if (!release) throw new MaestroError('internal', 'the rollout completed without a release');
            await log.progress(action.summary);
            return { kind: 'complete', release };
          }
          case 'rollback':
            return { kind: 'rollback', reason: action.reason, ...(action.figures ? { figures: action.figures } : {}) };
          case 'fail':
            throw new MaestroError('deploy_failed', action.reason);
        }
      }
      throw new MaestroError('internal', 'the rollout did not converge');
    } finally {
      analysis?.stop();
      this.analyses.delete(deployment.id);
      for (const call of gateCalls) call.abort();
    }
  }

  /**
   * Undo a rollout that moved traffic: the stable revision takes everything at once, the new one stops,
   * the deployment ends rolled back with the reason and the figures that decided it.
   */
  private async rollBack(deployment: Deployment, revision: Revision, end: Extract<RolloutEnd, { kind: 'rollback' }>, log: DeploymentLog): Promise<Deployment> {
    const { store, runner } = this.deps;
    await store.traffic.clear(deployment.serviceId, deployment.environmentId);
    const live = await store.live.get(deployment.serviceId, deployment.environmentId);
    if (live && live.revisionId === revision.id && live.previousRevisionId) {
      // The new revision had gone live (a breach in the watch window): the previous one is warm.
      const previous = await store.revisions.get(live.previousRevisionId);
      if (previous) {
        const config = previous.config as ServiceConfig;
        const missing = config.replicas - runner.replicas(previous.id).length;
        if (missing > 0) await runner.start(previous, config, missing);
        await runner.awaitHealthy(previous.id, this.deps.options.startTimeoutMs);
        this.deps.warm.take(previous.id);
        const release = await store.releases.create({ serviceId: deployment.serviceId, environmentId: deployment.environmentId, revisionId: previous.id, kind: 'rollback', reason: end.reason });
        await store.live.set(deployment.serviceId, deployment.environmentId, { releaseId: release.id, revisionId: previous.id, previousRevisionId: revision.id });
      }
    }
    await this.deps.routes.push();
    // Requests the new revision is still answering finish: it gets the drain time before it is killed.
    await runner.stop(revision.id, (deployment.config as DeploymentPlan).environment.drainMs).catch(() => undefined);
    await store.revisions.setState(revision.id, 'failed', end.reason).catch(() => undefined);
    if (end.figures) await log.progress(`figures: ${JSON.stringify(end.figures)}`);
    const done = await store.deployments.transition(deployment.id, 'rolled_back', { error: end.reason });
    await log.status('rolled_back', { error: end.reason, ...(end.figures ? { figures: end.figures } : {}) });
    await log.lifecycle('deployment.rolled_back', { revision: revision.id, reason: end.reason, ...(end.figures ? { data: { figures: end.figures } } : {}) });
    await log.flush();
    return done;
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
    // The new revision has everything now: its partial share is over.
    const shift = await store.traffic.get(deployment.serviceId, deployment.environmentId);
    await store.traffic.clear(deployment.serviceId, deployment.environmentId);
    try {
      await routes.push();
    } catch (error) {
      if (before) await store.live.set(deployment.serviceId, deployment.environmentId, before);
      if (shift) await store.traffic.set(shift);
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
