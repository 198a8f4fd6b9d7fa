import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DEFAULT_BUILD_PRIORITY,
  decideSandbox,
  detectSandbox,
  runPipeline,
  StepFailure,
  type ContentStore,
  type RunCommandInput,
  type SandboxPolicy,
} from '../build/index.js';
import { MaestroError, errorMessage } from '../common/index.js';
import type { EventBus } from '../events/index.js';
import type { BuildStepName, Deployment, Job, Store } from '../store/index.js';
import type { BuildCache } from '../build/cache/index.js';
import { buildKey, type DeployerOptions, type DeploymentPlan } from './deployer.js';
import { DeploymentLog } from './deployment-log.js';

/**
 * Where a runner gets sources and puts artifacts: the control plane's own content stores, or (for a
 * `maestro runner` on another machine) a local cache filled from and published to the API.
 */
export interface BlobAccess {
  /** A local path of the source archive. */
  source(digest: string): Promise<string>;
  /** Where the pipeline packs the artifact. */
  artifacts: ContentStore;
  /** Make a packed artifact available to the control plane. */
  publish(digest: string): Promise<void>;
}

export function localBlobs(sources: ContentStore, artifacts: ContentStore): BlobAccess {
  return {
    source: async (digest) => sources.path(digest),
    artifacts,
    publish: async () => undefined,
  };
}

const DEFAULT_BUILD_TIMEOUT_MS = 30 * 60_000;

/** A runner's work for a build job: the pipeline, then the build's outcome recorded. */
export class BuildExecutor {
  constructor(
    private readonly deps: {
      store: Store;
      bus: EventBus;
      workDir: string;
      logDir: string;
      blobs: BlobAccess;
      options: Pick<DeployerOptions, 'buildTimeoutMs' | 'sandbox'>;
      /** Folders a sandboxed step must not see (the data directory). */
      hidden: string[];
      cache?: BuildCache;
    },
  ) {}

  /**
   * What every step of this build runs with: the sandbox (install may use the network, build and test
   * only when the manifest allows), a lower CPU and I/O priority than serving apps, the memory limit.
   */
  private async stepOptions(plan: DeploymentPlan, workDir: string, log: DeploymentLog): Promise<(step: BuildStepName) => Partial<RunCommandInput>> {
    const policy: SandboxPolicy = this.deps.options.sandbox ?? { mode: 'auto' };
    const detection = policy.mode === 'off' ? undefined : await detectSandbox();
    const decision = decideSandbox(policy, detection);
    if (!decision.sandboxed && decision.warning) await log.line(decision.warning, 'stderr');
    const memoryBytes = plan.service.build.memoryBytes;
    return (step) => ({
      ...(decision.sandboxed && detection
        ? {
            sandbox: {
              policy,
              hidden: this.deps.hidden,
              writable: [],
              network: step === 'install' || plan.service.build.network === true,
              workDir,
              detection,
            },
          }
        : {}),
      priority: DEFAULT_BUILD_PRIORITY,
      ...(memoryBytes ? { limits: { memoryBytes, memorySetting: 'build.memory' } } : {}),
    });
  }

  private log(deployment: Deployment): DeploymentLog {
    return new DeploymentLog(this.deps.store, this.deps.bus, this.deps.logDir, deployment.id, deployment.projectId);
  }

  async execute(job: Job, signal: AbortSignal): Promise<void> {
    const { store, blobs } = this.deps;
    const build = job.buildId ? await store.builds.get(job.buildId) : undefined;
    if (!build) throw new MaestroError('not_found', `job ${job.id} names no build that exists`);
    if (build.status !== 'pending' && build.status !== 'running') return;
    const deployment = (await store.deployments.get(build.deploymentId))!;
    const plan = deployment.config as DeploymentPlan;
    const log = this.log(deployment);
    const workDir = join(this.deps.workDir, build.id);
    await store.builds.setStatus(build.id, 'running');
    const queueWaitMs = job.startedAt ? job.startedAt.getTime() - job.createdAt.getTime() : 0;
    await log.progress(`build ${build.id} started (attempt ${job.attempts}, waited ${queueWaitMs}ms in the queue)`);
    try {
      const result = await runPipeline(store, blobs.artifacts, {
        buildId: build.id,
        sourceArchive: await blobs.source(deployment.sourceDigest),
        workDir,
        servicePath: plan.service.path,
        ...(plan.service.build.install ? { install: plan.service.build.install } : {}),
        ...(plan.service.build.command ? { command: plan.service.build.command } : {}),
        ...(plan.service.build.test ? { test: plan.service.build.test } : {}),
        env: plan.service.env,
        secretValues: Object.values(plan.service.env).filter((value) => value.length >= 8),
        signal,
        timeoutMs: plan.service.build.timeoutMs ?? this.deps.options.buildTimeoutMs ?? DEFAULT_BUILD_TIMEOUT_MS,
        stepOptions: await this.stepOptions(plan, workDir, log),
        ...(this.deps.cache ? { cache: this.deps.cache } : {}),
        onLog: (line, stream, step) => void log.line(line, stream, step),
        onStep: (step) =>
          void log.step(step.name, step.status === 'running' ? 'started' : (step.status as 'succeeded' | 'failed' | 'skipped'), {
            ...(step.exitCode !== undefined ? { exitCode: step.exitCode } : {}),
            ...(step.cache ? { cache: step.cache } : {}),
            ...(step.startedAt && step.finishedAt ? { durationMs: step.finishedAt.getTime() - step.startedAt.getTime() } : {}),
          }),
      });
      await blobs.publish(result.artifactDigest);
      await store.builds.finish(build.id, { status: 'succeeded', artifactDigest: result.artifactDigest });
      await store.settings.set(`build-output:${buildKey(deployment.sourceDigest, plan.service)}`, result.artifactDigest);
      await rm(workDir, { recursive: true, force: true });
    } catch (error) {
      if (signal.aborted) {
        if (String((signal.reason as Error | undefined)?.message) === 'cancelled') {
          await store.builds.finish(build.id, { status: 'cancelled', error: 'cancelled' });
          await log.progress('the build was cancelled');
          await rm(workDir, { recursive: true, force: true });
        }
        throw error;
      }
      if (error instanceof StepFailure && error.transient && job.attempts < job.maxAttempts) {
        await log.progress(`${errorMessage(error)}; this looks like network trouble, so the build will be tried again`);
        await rm(workDir, { recursive: true, force: true });
        throw error;
      }
      const details = (error as MaestroError).details as { logTail?: string[] } | undefined;
      if (details?.logTail) for (const line of details.logTail.slice(-5)) await log.line(line, 'stderr');
      await store.builds.finish(build.id, { status: 'failed', error: errorMessage(error) });
      await rm(workDir, { recursive: true, force: true });
      throw error;
    } finally {
      await log.flush();
    }
  }
}
