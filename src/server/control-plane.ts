import { mkdir } from 'node:fs/promises';
import { ContentStore, Runner } from '../build/index.js';
import { BuildCache, enforceDiskCeiling } from '../build/cache/index.js';
import { ArtifactRetention } from './artifact-retention.js';
import { readFileFromSource } from './source-files.js';
import { MaestroError, errorMessage, type Logger } from '../common/index.js';
import { EventBus } from '../events/index.js';
import { parseManifest, resolveEnvironment, resolveServiceConfig, formatProblem, type ServiceConfig } from '../manifest/index.js';
import { serviceUrl } from '../rollout/index.js';
import { Agent, type ReplicaStatus } from '../runtime/index.js';
import type { RouterClient } from '../router/index.js';
import type { Deployment, Release, Store } from '../store/index.js';
import { BUILD_JOB, Deployer, type DeploymentPlan, type DeployerOptions } from './deployer.js';
import { DeploymentReconciler } from './reconciler.js';
import { BuildExecutor, localBlobs } from './build-executor.js';
import type { DataPaths } from './paths.js';
import { RevisionRunner } from './revisions.js';
import { RouteSync } from './route-sync.js';
import { WarmPool } from './warm-pool.js';
import { KeyedLock } from './keyed-lock.js';

const HOUSEKEEPING_MS = 5 * 60_000;
const DEFAULT_ARTIFACT_MAX_AGE_MS = 7 * 24 * 3_600_000;

export interface ControlPlaneOptions extends DeployerOptions {
  /** The router's public port, for the URLs Maestro reports. */
  routerPort: number;
  /** Releases a rollback can return to, newest first. */
  releasesKept: number;
  /** Builds this control plane runs at once (0: none; `maestro runner` processes do them). */
  buildConcurrency: number;
  /** Builds of one project running at once, across all runners. */
  buildsPerProject: number;
  /** The dependency and build-output cache's size cap; least recently used entries go first. */
  cacheMaxBytes: number;
  /** What the data directory may use; caches, then unused artifacts are evicted to stay under it. */
  diskCeilingBytes?: number;
  /** Unused artifacts older than this are removed. */
  artifactMaxAgeMs?: number;
}

export interface DeploymentView {
  id: string;
  project: string;
  service: string;
  environment: string;
  status: Deployment['status'];
  url: string;
  release: number | null;
  revision: string | null;
  sourceDigest: string;
  error: string | null;
  createdAt: string;
  finishedAt: string | null;
}

export interface ServiceStatusView {
  project: string;
  service: string;
  environment: string;
  url: string;
  status: 'serving' | 'unavailable';
  release: number;
  revision: string;
  replicas: Array<{ id: string; state: ReplicaStatus['state']; port: number; restarts: number; pid?: number }>;
  previous: { revision: string; warmUntil: string } | null;
  deploying: string[];
}

/**
 * The control plane's core: owns the deployer, the warm pool and the route sync, and answers the
 * API's questions from the store (the truth) and the agent (what is running).
 */
export class ControlPlane {
  readonly bus = new EventBus();
  readonly sources: ContentStore;
  readonly artifacts: ContentStore;
  readonly runner: RevisionRunner;
  readonly routes: RouteSync;
  readonly warm: WarmPool;
  readonly deployer: Deployer;
  readonly reconciler: DeploymentReconciler;
  readonly buildRunner: Runner;
  readonly buildCache: BuildCache;
  readonly retention: ArtifactRetention;
  private housekeeping: NodeJS.Timeout | undefined;
  private readonly locks = new KeyedLock();
  private onAgentChange = (): void => this.routes.schedule();

  constructor(
    readonly store: Store,
    readonly agent: Agent,
    router: RouterClient,
    readonly paths: DataPaths,
    private readonly logger: Logger,
    readonly options: ControlPlaneOptions,
  ) {
    this.sources = new ContentStore(paths.sources);
    this.artifacts = new ContentStore(paths.artifacts);
    this.runner = new RevisionRunner(agent, this.artifacts, paths.revisions);
    this.routes = new RouteSync(store, agent, router, logger);
    this.warm = new WarmPool(store, this.runner, logger);
    this.deployer = new Deployer({
      store,
      bus: this.bus,
      paths,
      artifacts: this.artifacts,
      runner: this.runner,
      routes: this.routes,
      warm: this.warm,
      logger,
      options,
    });
    this.buildCache = new BuildCache({ root: paths.cache, maxBytes: options.cacheMaxBytes });
    this.retention = new ArtifactRetention(store, this.artifacts, options.releasesKept);
    const executor = new BuildExecutor({
      cache: this.buildCache,
      store,
      bus: this.bus,
      workDir: paths.work,
      logDir: paths.deploymentLogs,
      blobs: localBlobs(this.sources, this.artifacts),
      options,
      hidden: [paths.root],
    });
    this.reconciler = new DeploymentReconciler(store, this.deployer, this.locks, logger);
    this.buildRunner = new Runner({
      store,
      owner: `${ControlPlane.localRunnerPrefix(paths)}${process.pid}:${Date.now().toString(36)}`,
      kinds: [BUILD_JOB],
      concurrency: options.buildConcurrency,
      perProjectLimit: options.buildsPerProject,
      logger,
      execute: (job, signal) => executor.execute(job, signal),
      onSettled: () => this.reconciler.wake(),
    });
    agent.on('change', this.onAgentChange);
  }

  /** Leases of this data directory's in-process runner start with this, so a restart can take them back at once. */
  static localRunnerPrefix(paths: DataPaths): string {
    return `local:${paths.root}:`;
  }

  /** Start building and reconciling (after recovery), and keeping the disk tidy. */
  startWork(): void {
    this.reconciler.start();
    if (this.options.buildConcurrency > 0) this.buildRunner.start();
    this.housekeeping = setInterval(() => void this.tidy(), HOUSEKEEPING_MS);
    this.housekeeping.unref();
  }

  /** Remove old unused artifacts, then evict caches and artifacts until the data directory is under its ceiling. */
  async tidy(): Promise<void> {
    try {
      await this.retention.sweep(this.options.artifactMaxAgeMs ?? DEFAULT_ARTIFACT_MAX_AGE_MS);
      if (this.options.diskCeilingBytes !== undefined) {
        const report = await enforceDiskCeiling({
          dataDir: this.paths.root,
          ceilingBytes: this.options.diskCeilingBytes,
          evictors: [this.buildCache.evictor(), this.retention.evictor()],
        });
        if (!report.underCeiling) {
          this.logger.warn({ usedBytes: report.after.totalBytes, ceilingBytes: this.options.diskCeilingBytes }, 'the data directory is over its ceiling and nothing more may be evicted');
        }
      }
    } catch (error) {
      this.logger.warn({ err: errorMessage(error) }, 'housekeeping failed');
    }
  }

  async prepare(): Promise<void> {
    for (const dir of [this.paths.work, this.paths.revisions, this.paths.deploymentLogs]) await mkdir(dir, { recursive: true });
    await this.routes.init();
  }

  /**
   * Create one deployment per selected service of the manifest inside an uploaded source; each runs in
   * the background. Creating the same deployment again while it runs returns the running one.
   */
  async createDeployments(input: {
    project: string;
    sourceDigest: string;
    environment: string;
    services?: string[];
    createdBy?: string;
  }): Promise<DeploymentView[]> {
    const { store } = this;
    if (!(await this.sources.has(input.sourceDigest))) {
      throw new MaestroError('not_found', `no uploaded source ${input.sourceDigest}; upload it with POST /v1/sources first`);
    }
    const text = await readFileFromSource(this.sources.path(input.sourceDigest), 'maestro.yml');
    if (text === undefined) {
      throw new MaestroError('validation_error', 'the uploaded folder has no maestro.yml; run `maestro init` in it to write one');
    }
    const parsed = parseManifest(text, 'maestro.yml');
    if (!parsed.ok) {
      throw new MaestroError('validation_error', `maestro.yml is not valid:\n${parsed.problems.map(formatProblem).join('\n')}`, {
        problems: parsed.problems,
      });
    }
    const manifest = parsed.manifest;
    const names = Object.keys(manifest.services);
    const selected = input.services && input.services.length > 0 ? input.services : names;
    for (const name of selected) {
      if (!names.includes(name)) {
        throw new MaestroError('not_found', `maestro.yml has no service "${name}"; it has ${names.map((n) => `"${n}"`).join(', ')}`);
      }
    }
    if (manifest.project !== input.project) {
      this.logger.info({ manifestProject: manifest.project, project: input.project }, 'deploying under a project name other than the manifest\'s');
    }

    const project = await store.projects.ensure(input.project);
    const environment = await store.environments.ensure(project.id, input.environment);
    const views: DeploymentView[] = [];
    for (const name of selected) {
      const service = await store.services.ensure(project.id, name);
      const config: ServiceConfig = { ...resolveServiceConfig(manifest, name, input.environment), project: input.project };
      const plan: DeploymentPlan = { service: config, environment: resolveEnvironment(manifest, input.environment) };
      if (plan.environment.strategy.type !== 'immediate') {
        throw new MaestroError(
          'validation_error',
          `environments.${input.environment}.strategy: "${plan.environment.strategy.type}" is not available in this version of Maestro; use "immediate"`,
        );
      }
      const { deployment, created } = await store.deployments.createOrGetInProgress({
        projectId: project.id,
        serviceId: service.id,
        environmentId: environment.id,
        sourceDigest: input.sourceDigest,
        config: plan,
        ...(input.createdBy ? { createdBy: input.createdBy } : {}),
      });
      if (created) await this.deployer.log(deployment).status('pending');
      views.push(await this.view(deployment));
    }
    this.reconciler.wake();
    this.buildRunner.wake();
    return views;
  }

  async getDeployment(id: string): Promise<DeploymentView> {
    const deployment = await this.store.deployments.get(id);
    if (!deployment) throw new MaestroError('not_found', `no deployment ${id}`);
    return this.view(deployment);
  }

  async listDeployments(filter: { project?: string; service?: string; environment?: string; limit?: number }): Promise<DeploymentView[]> {
    const ids = await this.resolveIds(filter);
    const list = await this.store.deployments.list({ ...ids, limit: filter.limit ?? 50 });
    return Promise.all(list.map((deployment) => this.view(deployment)));
  }

  async view(deployment: Deployment): Promise<DeploymentView> {
    const plan = deployment.config as DeploymentPlan;
    let release: number | null = null;
    if (deployment.releaseId) {
      const releases = await this.store.releases.list(deployment.serviceId, deployment.environmentId, 1000);
      release = releases.find((candidate) => candidate.id === deployment.releaseId)?.number ?? null;
    }
    return {
      id: deployment.id,
      project: plan.service.project,
      service: plan.service.service,
      environment: plan.service.environment,
      status: deployment.status,
      url: serviceUrl(plan.service.project, plan.service.service, plan.service.environment, this.options.routerPort),
      release,
      revision: deployment.revisionId ?? null,
      sourceDigest: deployment.sourceDigest,
      error: deployment.error ?? null,
      createdAt: deployment.createdAt.toISOString(),
      finishedAt: deployment.finishedAt ? deployment.finishedAt.toISOString() : null,
    };
  }

  private async resolveIds(filter: { project?: string; service?: string; environment?: string }): Promise<{
    projectId?: string;
    serviceId?: string;
    environmentId?: string;
  }> {
    if (!filter.project) return {};
    const project = await this.requireProject(filter.project);
    const ids: { projectId: string; serviceId?: string; environmentId?: string } = { projectId: project.id };
    if (filter.service) ids.serviceId = (await this.requireService(project.id, filter.project, filter.service)).id;
    if (filter.environment) ids.environmentId = (await this.requireEnvironment(project.id, filter.project, filter.environment)).id;
    return ids;
  }

  async requireProject(name: string) {
    const project = await this.store.projects.get(name);
    if (!project) {
      const known = (await this.store.projects.list()).map((p) => p.name);
      throw new MaestroError('not_found', `no project "${name}"${known.length ? `; projects: ${known.join(', ')}` : '; deploy one with `maestro deploy`'}`);
    }
    return project;
  }

  async requireService(projectId: string, projectName: string, name: string) {
    const service = await this.store.services.get(projectId, name);
    if (!service) {
      const known = (await this.store.services.list(projectId)).map((s) => s.name);
      throw new MaestroError('not_found', `project "${projectName}" has no service "${name}"${known.length ? `; services: ${known.join(', ')}` : ''}`);
    }
    return service;
  }

  async requireEnvironment(projectId: string, projectName: string, name: string) {
    const environment = await this.store.environments.get(projectId, name);
    if (!environment) {
      const known = (await this.store.environments.list(projectId)).map((e) => e.name);
      throw new MaestroError('not_found', `project "${projectName}" has no environment "${name}"${known.length ? `; environments: ${known.join(', ')}` : ''}`);
    }
    return environment;
  }

  async target(project: string, service: string, environment: string) {
    const p = await this.requireProject(project);
    const s = await this.requireService(p.id, project, service);
    const e = await this.requireEnvironment(p.id, project, environment);
    return { project: p, service: s, environment: e };
  }

  async releases(project: string, service: string, environment: string, limit = 20) {
    const t = await this.target(project, service, environment);
    const live = await this.store.live.get(t.service.id, t.environment.id);
    const list = await this.store.releases.list(t.service.id, t.environment.id, limit);
    return list.map((release) => ({
      number: release.number,
      id: release.id,
      revision: release.revisionId,
      kind: release.kind,
      reason: release.reason ?? null,
      deployment: release.deploymentId ?? null,
      live: live?.releaseId === release.id,
      createdAt: release.createdAt.toISOString(),
    }));
  }

  /**
   * Move traffic back to an earlier release: at once when its revision is still warm, otherwise after
   * starting it from its stored artifact with its own configuration snapshot. No rebuild.
   */
  async rollback(input: { project: string; service: string; environment: string; to?: number; reason?: string }): Promise<{
    release: number;
    revision: string;
    from: number;
    url: string;
    warm: boolean;
    durationMs: number;
  }> {
    const started = performance.now();
    const t = await this.target(input.project, input.service, input.environment);
    return this.locks.run(`${t.service.id}/${t.environment.id}`, async () => {
      const { store } = this;
      const live = await store.live.get(t.service.id, t.environment.id);
      if (!live) throw new MaestroError('conflict', `${input.service} has nothing live in ${input.environment} to roll back from`);
      const history = await store.releases.list(t.service.id, t.environment.id, 1000);
      const current = history.find((release) => release.id === live.releaseId);
      const kept = history.slice(0, this.options.releasesKept);
      let target: Release | undefined;
      if (input.to !== undefined) {
        target = history.find((release) => release.number === input.to);
        if (!target) throw new MaestroError('not_found', `${input.service} in ${input.environment} has no release ${input.to}`);
        if (!kept.includes(target)) {
          throw new MaestroError('conflict', `release ${input.to} is no longer stored; Maestro keeps the last ${this.options.releasesKept} releases`);
        }
      } else {
        target = kept.find((release) => release.revisionId !== live.revisionId);
        if (!target) throw new MaestroError('conflict', `${input.service} in ${input.environment} has no earlier release to roll back to`);
      }
      if (target.revisionId === live.revisionId) {
        throw new MaestroError('conflict', `release ${target.number} is already what serves ${input.service} in ${input.environment}`);
      }
      const revision = await store.revisions.get(target.revisionId);
      if (!revision) throw new MaestroError('not_found', `the revision of release ${target.number} is gone`);
      const config = revision.config as ServiceConfig;
      const wasWarm = this.warm.isWarm(revision.id);
      this.warm.take(revision.id);

      const running = this.runner.replicas(revision.id);
      const missing = config.replicas - running.length;
      try {
        if (missing > 0) await this.runner.start(revision, config, missing);
        await this.runner.awaitHealthy(revision.id, this.options.startTimeoutMs);
      } catch (error) {
        if (!wasWarm) await this.runner.stop(revision.id, 0);
        throw new MaestroError('deploy_failed', `release ${target.number} could not be started again: ${errorMessage(error)}`, (error as MaestroError).details);
      }

      const release = await store.releases.create({
        serviceId: t.service.id,
        environmentId: t.environment.id,
        revisionId: revision.id,
        kind: 'rollback',
        reason: input.reason ?? `rollback to release ${target.number}`,
      });
      await store.live.set(t.service.id, t.environment.id, { releaseId: release.id, revisionId: revision.id, previousRevisionId: live.revisionId });
      await store.revisions.setState(revision.id, 'healthy');
      try {
        await this.routes.push();
      } catch (error) {
        await store.live.set(t.service.id, t.environment.id, live);
        throw new MaestroError('unavailable', `the router did not take the rollback: ${errorMessage(error)}`);
      }
      const durationMs = Math.round(performance.now() - started);

      // The environment's settings (warm_for, drain) as the latest deployment here declared them.
      const [latest] = await store.deployments.list({ serviceId: t.service.id, environmentId: t.environment.id, limit: 1 });
      const environment = (latest?.config as DeploymentPlan | undefined)?.environment;
      await this.warm.keep({
        revisionId: live.revisionId,
        serviceId: t.service.id,
        environmentId: t.environment.id,
        forMs: environment?.warmForMs ?? 10 * 60_000,
        drainMs: environment?.drainMs ?? 5_000,
      });
      if (current?.deploymentId) {
        const deployment = await store.deployments.get(current.deploymentId);
        if (deployment?.status === 'succeeded') await store.deployments.transition(deployment.id, 'rolled_back');
      }
      return {
        release: release.number,
        revision: revision.id,
        from: current?.number ?? 0,
        url: serviceUrl(input.project, input.service, input.environment, this.options.routerPort),
        warm: wasWarm,
        durationMs,
      };
    });
  }

  async status(filter: { project?: string } = {}): Promise<ServiceStatusView[]> {
    const rows = await this.store.live.list();
    const inProgress = await this.store.deployments.unfinished();
    const views: ServiceStatusView[] = [];
    for (const row of rows) {
      if (filter.project && row.projectName !== filter.project) continue;
      const replicas = this.runner.replicas(row.revisionId);
      const previous = row.previousRevisionId && this.warm.isWarm(row.previousRevisionId) ? row.previousRevisionId : undefined;
      views.push({
        project: row.projectName,
        service: row.serviceName,
        environment: row.environmentName,
        url: serviceUrl(row.projectName, row.serviceName, row.environmentName, this.options.routerPort),
        status: replicas.some((replica) => replica.state === 'healthy') ? 'serving' : 'unavailable',
        release: row.releaseNumber,
        revision: row.revisionId,
        replicas: replicas.map((replica) => ({
          id: replica.id,
          state: replica.state,
          port: replica.port,
          restarts: replica.restarts,
          ...(replica.pid ? { pid: replica.pid } : {}),
        })),
        previous: previous ? { revision: previous, warmUntil: this.warm.warmUntil(previous)!.toISOString() } : null,
        deploying: inProgress.filter((d) => d.serviceId === row.serviceId && d.environmentId === row.environmentId).map((d) => d.id),
      });
    }
    return views;
  }

  /** The live revision's replicas, for logs. */
  async liveReplicas(project: string, service: string, environment: string): Promise<ReplicaStatus[]> {
    const t = await this.target(project, service, environment);
    const live = await this.store.live.get(t.service.id, t.environment.id);
    if (!live) throw new MaestroError('not_found', `${service} has nothing live in ${environment}`);
    return this.agent.list().filter((replica) => replica.revisionId === live.revisionId);
  }

  /** Cancel a queued or running build: a queued job ends now, a running one is stopped by its runner. */
  async cancelBuild(buildId: string): Promise<void> {
    const job = await this.store.jobs.forBuild(buildId);
    if (job) {
      const after = await this.store.jobs.requestCancel(job.id);
      if (!this.buildRunner.cancelLocal(job.id) && after?.status === 'cancelled') {
        await this.store.builds.finish(buildId, { status: 'cancelled', error: 'cancelled' }).catch(() => undefined);
      }
    } else {
      await this.store.builds.finish(buildId, { status: 'cancelled', error: 'cancelled' });
    }
    // A running build on another runner ends when that runner next renews its lease.
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const build = await this.store.builds.get(buildId);
      if (build && build.status !== 'pending' && build.status !== 'running') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    this.reconciler.wake();
  }

  /** Wait until no deployment is in progress (tests). */
  async idle(timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await this.store.deployments.unfinished()).length > 0) {
      if (Date.now() > deadline) throw new MaestroError('timeout', 'deployments are still in progress');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await this.reconciler.idle();
  }

  /** Stop working; builds running here are left for the queue to hand out again. */
  async close(): Promise<void> {
    if (this.housekeeping) clearInterval(this.housekeeping);
    this.reconciler.stop();
    await this.buildRunner.stop({ abort: true });
    await this.reconciler.idle();
    this.agent.off('change', this.onAgentChange);
    this.warm.stopTimers();
  }
}
