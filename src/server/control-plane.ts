import { mkdir } from 'node:fs/promises';
import { ContentStore, Runner } from '../build/index.js';
import { BuildCache, enforceDiskCeiling } from '../build/cache/index.js';
import { ArtifactRetention } from './artifact-retention.js';
import { readFileFromSource } from './source-files.js';
import { MaestroError, errorMessage, type Logger } from '../common/index.js';
import { EventBus, startWebhookDispatcher, type WebhookDispatcher, type WebhookDispatcherOptions } from '../events/index.js';
import { CommitStatuses, startCommitStatusSender, type CommitStatusSender, type CommitStatusSenderOptions, type HookIntake } from '../git-hosts/index.js';
import { parseManifest, resolveEnvironment, resolveServiceConfig, formatProblem, type ServiceConfig } from '../manifest/index.js';
import { describeRolloutState, serviceUrl, type RolloutState } from '../rollout/index.js';
import { Agent, type ReplicaStatus } from '../runtime/index.js';
import type { RouterClient } from '../router/index.js';
import { isTerminal, type Deployment, type Store } from '../store/index.js';
import { BUILD_JOB, Deployer, type DeploymentPlan, type DeployerOptions } from './deployer.js';
import { DeploymentReconciler } from './reconciler.js';
import { BuildExecutor, localBlobs } from './build-executor.js';
import type { DataPaths } from './paths.js';
import { RevisionRunner } from './revisions.js';
import { RouteSync } from './route-sync.js';
import { WarmPool } from './warm-pool.js';
import { KeyedLock } from './keyed-lock.js';
import { rollback, type RollbackInput, type RollbackResult } from './rollback.js';
import { rolloutInProgress } from './rollout-control.js';
import { PreviewManager, changedServices, controlPlaneEffects } from '../previews/index.js';
import { GitIntake } from './git-intake.js';
import { commitStatusHooks, previewPort } from './git-intake-wiring.js';
import { PreviewSleeper } from './preview-sleep.js';
import { requireEnvironment, requireProject, requireService, requireTarget } from './lookups.js';
import { VulnerabilityScanner, type NpmBulkSourceOptions } from '../supply-chain/vulns/index.js';
import type { SigningKey } from '../supply-chain/provenance/index.js';
import { DEFAULT_ORGANISATION_POLICIES, type OrganisationPolicies } from '../policy/index.js';
import { detectSandbox, decideSandbox } from '../build/index.js';
import { BuildEvidence } from './build-evidence.js';
import { ReleaseGate } from './release-gate.js';

const HOUSEKEEPING_MS = 5 * 60_000;
/** Expired previews go within this long of their expiry; half-finished destroys are completed as often. */
const PREVIEW_HOUSEKEEPING_MS = 30_000;
const DEFAULT_ARTIFACT_MAX_AGE_MS = 7 * 24 * 3_600_000;
const SCAN_CACHE_MAX_AGE_MS = 7 * 24 * 3_600_000;
const IDENTITY_RECORDS_MAX_AGE_MS = 30 * 86_400_000;

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
  /** Outgoing webhook delivery settings (timeouts, retry backoff). */
  webhooks?: Partial<Omit<WebhookDispatcherOptions, 'store' | 'logger' | 'bus'>>;
  /** Commit status delivery settings (timeouts, retry backoff). */
  commitStatuses?: Partial<Omit<CommitStatusSenderOptions, 'store' | 'logger'>>;
  /** OSV advisories builds are scanned against: a folder of *.json, or osv.dev's all.zip, or a .tar.gz. */
  advisories?: string;
  /** Also ask npm's bulk advisory endpoint (an optional source unless `required`). */
  npmAdvisories?: NpmBulkSourceOptions;
  /** The server's signing key (opened at start): it signs every artifact's provenance and SBOM. */
  signingKey: SigningKey;
  /** The organisation's policies with the defaults; the defaults alone when absent. */
  policies?: OrganisationPolicies;
  /** Maestro's version, recorded as the builder's in provenance. */
  builderVersion?: string;
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
  commit: string | null;
  ref: string | null;
  releaseBuild: boolean;
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
  /** Preview environments of branches and pull requests: opened by pushes, destroyed completely. */
  readonly previews: PreviewManager;
  private previewHousekeeping: NodeJS.Timeout | undefined;
  private housekeeping: NodeJS.Timeout | undefined;
  private webhooks: WebhookDispatcher | undefined;
  /** Queues commit statuses for GitHub and GitLab; the sender started by startWork delivers them. */
  readonly commitStatuses: CommitStatuses;
  private statusSender: CommitStatusSender | undefined;
  /** Where GitHub and GitLab webhooks hand their intents; until it is set they are refused with 503. */
  hookIntake: HookIntake | undefined;
  /** Turns pushes and provider events into deployments, previews and release builds. */
  readonly intake: GitIntake;
  /** Idle previews sleep and wake on their next request. */
  readonly sleeper: PreviewSleeper;
  /** Scans builds' components against the advisories; keeps each build's scan (`scanBuild`). */
  readonly vulnerabilities: VulnerabilityScanner;
  /** Every build's SBOM, scan and signed attestations; checks artifacts before they run. */
  readonly evidence: BuildEvidence;
  /** Verification and policies before every rollout. */
  readonly gate: ReleaseGate;
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
    // The route sync's client follows a restarted router; replicas the runner retires leave its tables first.
    this.runner = new RevisionRunner(agent, this.artifacts, paths.revisions, {
      router: () => this.routes.client,
      publishRoutes: () => this.routes.push(),
      logger,
      verifyArtifact: (digest) => this.evidence.verify(digest),
    });
    this.vulnerabilities = new VulnerabilityScanner({
      ...(options.advisories ? { advisories: options.advisories } : {}),
      ...(options.npmAdvisories ? { npmRegistry: options.npmAdvisories } : {}),
      store,
      logger,
    });
    this.evidence = new BuildEvidence({
      store,
      sources: this.sources,
      artifacts: this.artifacts,
      workDir: paths.work,
      signingKey: () => options.signingKey,
      scanner: this.vulnerabilities,
      sandbox: async () => {
        const decision = decideSandbox(options.sandbox ?? { mode: 'auto' }, await detectSandbox());
        return decision.sandboxed ? 'bubblewrap' : 'none';
      },
      builderVersion: options.builderVersion ?? '0.0.0',
      logger,
    });
    this.gate = new ReleaseGate({ store, artifacts: this.artifacts, evidence: this.evidence, policies: options.policies ?? DEFAULT_ORGANISATION_POLICIES });
    this.routes = new RouteSync(store, agent, router, logger, (replicaId) => !this.runner.isRetiring(replicaId));
    this.warm = new WarmPool(store, this.runner, logger);
    this.deployer = new Deployer({
      store,
      bus: this.bus,
      paths,
      artifacts: this.artifacts,
      runner: this.runner,
      routes: this.routes,
      warm: this.warm,
      gate: this.gate,
      logger,
      options,
    });
    this.buildCache = new BuildCache({ root: paths.cache, maxBytes: options.cacheMaxBytes });
    this.commitStatuses = new CommitStatuses(store, () => this.statusSender?.wake());
    this.retention = new ArtifactRetention(store, this.artifacts, options.releasesKept);
    this.previews = new PreviewManager({ store, effects: controlPlaneEffects(this), folders: paths, routerPort: options.routerPort, logger });
    this.sleeper = new PreviewSleeper({ store, runner: this.runner, routes: this.routes, logger });
    this.intake = new GitIntake(this, previewPort(this.previews), changedServices, logger, commitStatusHooks(this.commitStatuses, logger));
    this.hookIntake = this.intake;
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
    this.previewHousekeeping = setInterval(() => void this.previewChores(), PREVIEW_HOUSEKEEPING_MS);
    this.previewHousekeeping.unref();
    this.webhooks = startWebhookDispatcher({ store: this.store, logger: this.logger, bus: this.bus, ...this.options.webhooks });
    this.statusSender = startCommitStatusSender({ store: this.store, logger: this.logger, ...this.options.commitStatuses });
  }

  /** Expired previews go, half-finished destroys are completed, idle previews sleep. */
  async previewChores(): Promise<void> {
    try {
      await this.previews.housekeeping();
      const stats = await this.routes.client.stats().catch(() => undefined);
      if (stats) await this.sleeper.sweep(stats.lastRequestAt);
    } catch (error) {
      this.logger.warn({ err: errorMessage(error) }, 'preview housekeeping failed');
    }
  }

  /** Remove old unused artifacts, then evict caches and artifacts until the data directory is under its ceiling. */
  async tidy(): Promise<void> {
    try {
      await this.retention.sweep(this.options.artifactMaxAgeMs ?? DEFAULT_ARTIFACT_MAX_AGE_MS);
      // Cached scan answers name advisory sets that reloads have since replaced; a week's worth is plenty to reuse.
      await this.store.vulnerabilityScans.pruneCache(new Date(Date.now() - SCAN_CACHE_MAX_AGE_MS));
      // Ended sessions and old login attempts (a month of failures is the record; throttling reads 15 minutes).
      await this.store.sessions.prune(new Date(Date.now() - IDENTITY_RECORDS_MAX_AGE_MS));
      await this.store.loginAttempts.prune(new Date(Date.now() - IDENTITY_RECORDS_MAX_AGE_MS));
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
    await this.evidence.backfill(this.options.releasesKept);
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
    /** Where the source came from in git, recorded with each deployment. */
    git?: { commit: string; message?: string; ref: string };
    /** A release build: built and kept, not rolled out. */
    buildOnly?: boolean;
    /**
     * The newer commit wins: older deployments of the same services and environment that have not begun
     * their rollout are cancelled (a push's, not `maestro deploy`'s default).
     */
    supersede?: boolean;
    /** The environment is a preview: unless maestro.yml names it, `environments.preview` applies. */
    preview?: boolean;
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
    const livePreview = await store.previews.getByName(project.id, input.environment);
    const kind = { preview: input.preview ?? livePreview !== undefined };
    const views: DeploymentView[] = [];
    for (const name of selected) {
      const service = await store.services.ensure(project.id, name);
      const config: ServiceConfig = { ...resolveServiceConfig(manifest, name, input.environment, kind), project: input.project };
      const plan: DeploymentPlan = {
        service: config,
        environment: resolveEnvironment(manifest, input.environment, kind),
        ...(input.buildOnly ? { buildOnly: true } : {}),
        ...(kind.preview ? { preview: true } : {}),
        ...(manifest.policies && manifest.policies.length > 0 ? { policies: manifest.policies } : {}),
      };
      const { deployment, created } = await store.deployments.createOrGetInProgress({
        projectId: project.id,
        serviceId: service.id,
        environmentId: environment.id,
        sourceDigest: input.sourceDigest,
        config: plan,
        ...(input.createdBy ? { createdBy: input.createdBy } : {}),
        ...(input.git ? { commit: input.git.commit, ref: input.git.ref, ...(input.git.message ? { message: input.git.message } : {}) } : {}),
      });
      if (created) await this.deployer.log(deployment).status('pending');
      if (created && input.supersede) void this.supersedeOlder(deployment);
      views.push(await this.view(deployment));
    }
    this.reconciler.wake();
    this.buildRunner.wake();
    return views;
  }

  /**
   * Cancels the deployments of the same service and environment that `newer` replaces: those still
   * pending or building (a rollout under way finishes; `newer` rolls out after it).
   */
  private async supersedeOlder(newer: Deployment): Promise<void> {
    const reason = `superseded by a newer deployment (${newer.commit ? `commit ${newer.commit.slice(0, 7)}, ` : ''}${newer.id})`;
    const older = (await this.store.deployments.unfinished()).filter(
      (other) =>
        other.id !== newer.id &&
        other.serviceId === newer.serviceId &&
        other.environmentId === newer.environmentId &&
        other.createdAt <= newer.createdAt &&
        (other.status === 'pending' || other.status === 'building') &&
        !(other.config as DeploymentPlan).buildOnly,
    );
    for (const deployment of older) {
      try {
        await this.locks.run(`supersede:${deployment.id}`, async () => {
          const build = (await this.store.builds.forDeployment(deployment.id)).at(-1);
          if (build && (build.status === 'pending' || build.status === 'running')) await this.cancelBuild(build.id);
          const now = await this.store.deployments.get(deployment.id);
          if (now && (now.status === 'pending' || now.status === 'building')) await this.deployer.fail(now, reason, undefined, 'cancelled');
        });
      } catch (error) {
        // It ended on its own meanwhile (the reconciler cancelled it, or its build finished and it moved on).
        this.logger.debug({ deployment: deployment.id, err: errorMessage(error) }, 'could not supersede a deployment');
      }
    }
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
      commit: deployment.commit ?? null,
      ref: deployment.ref ?? null,
      releaseBuild: Boolean(plan.buildOnly),
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
    const project = await requireProject(this.store, filter.project);
    const ids: { projectId: string; serviceId?: string; environmentId?: string } = { projectId: project.id };
    if (filter.service) ids.serviceId = (await requireService(this.store, project, filter.service)).id;
    if (filter.environment) ids.environmentId = (await requireEnvironment(this.store, project, filter.environment)).id;
    return ids;
  }

  requireProject(name: string) {
    return requireProject(this.store, name);
  }

  target(project: string, service: string, environment: string) {
    return requireTarget(this.store, project, service, environment);
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
  async rollback(input: RollbackInput): Promise<RollbackResult> {
    const target = await this.target(input.project, input.service, input.environment);
    return this.locks.run(`${target.service.id}/${target.environment.id}`, () => rollback(this, target, input));
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

  /** `maestro promote [--full]`: the rollout in progress moves on (past a pause, or to 100% with `full`). */
  async promote(input: { project: string; service: string; environment: string; full?: boolean; actor?: string }): Promise<DeploymentView> {
    const deployment = await rolloutInProgress(this.store, input.project, input.service, input.environment, 'promote');
    if (deployment.status !== 'deploying') {
      throw new MaestroError('conflict', `deployment ${deployment.id} is still ${deployment.status}; promote it once its rollout has started`);
    }
    await this.store.deployments.requestRollout(deployment.id, { promote: true, ...(input.full ? { fullPromote: true } : {}), ...(input.actor ? { actor: input.actor } : {}) });
    this.reconciler.wake();
    return this.view((await this.store.deployments.get(deployment.id))!);
  }

  /** `maestro abort`: a build is cancelled; a rollout returns all traffic to the stable revision at once. */
  async abort(input: { project: string; service: string; environment: string; reason?: string; actor?: string }): Promise<DeploymentView> {
    const deployment = await rolloutInProgress(this.store, input.project, input.service, input.environment, 'abort');
    const reason = input.reason ?? `aborted${input.actor ? ` by ${input.actor}` : ''}`;
    if (deployment.status === 'deploying') {
      await this.store.deployments.requestRollout(deployment.id, { abort: true, reason, ...(input.actor ? { actor: input.actor } : {}) });
      this.reconciler.wake();
      await this.waitUntilFinished(deployment.id, 30_000);
    } else {
      const build = (await this.store.builds.forDeployment(deployment.id)).at(-1);
      if (build && (build.status === 'pending' || build.status === 'running')) await this.cancelBuild(build.id);
      else await this.deployer.fail(deployment, reason, undefined, 'cancelled');
      await this.waitUntilFinished(deployment.id, 30_000);
    }
    return this.view((await this.store.deployments.get(deployment.id))!);
  }

  private async waitUntilFinished(deploymentId: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const current = await this.store.deployments.get(deploymentId);
      if (!current || isTerminal(current.status)) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** What a rollout is doing: its step and weights, and the analysis verdicts that decide it. */
  async rolloutStatus(project: string, service: string, environment: string) {
    const t = await this.target(project, service, environment);
    const [deployment] = await this.store.deployments.list({ serviceId: t.service.id, environmentId: t.environment.id, limit: 1 });
    const live = await this.store.live.get(t.service.id, t.environment.id);
    const shift = await this.store.traffic.get(t.service.id, t.environment.id);
    const weights = live
      ? shift && shift.revisionId !== live.revisionId && shift.weight > 0
        ? [
            { revision: live.revisionId, weight: 100 - shift.weight },
            { revision: shift.revisionId, weight: shift.weight },
          ]
        : [{ revision: live.revisionId, weight: 100 }]
      : [];
    if (!deployment) return { deployment: null, strategy: null, state: null, weights, analysis: [] };
    const plan = deployment.config as DeploymentPlan;
    const state = deployment.rolloutState as RolloutState | undefined;
    const analysis = this.deployer.analyses.get(deployment.id);
    return {
      deployment: await this.view(deployment),
      strategy: plan.environment.strategy.type,
      state: state ? describeRolloutState(plan.environment.strategy, state) : null,
      weights,
      analysis: (analysis?.history ?? []).slice(-10).map((verdict) => ({
        outcome: verdict.outcome,
        reason: verdict.reason,
        at: verdict.at ? new Date(verdict.at).toISOString() : null,
      })),
    };
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
    if (this.previewHousekeeping) clearInterval(this.previewHousekeeping);
    await this.previews.idle();
    await this.sleeper.idle();
    await this.webhooks?.stop();
    await this.statusSender?.stop();
    this.reconciler.stop();
    this.deployer.shutDown();
    await this.buildRunner.stop({ abort: true });
    await this.reconciler.idle();
    this.agent.off('change', this.onAgentChange);
    this.warm.stopTimers();
  }
}
