import { MaestroError, errorMessage } from '../common/index.js';
import type { ServiceConfig } from '../manifest/index.js';
import { serviceUrl } from '../rollout/index.js';
import type { Environment, Project, Release, Service } from '../store/index.js';
import type { ControlPlane } from './control-plane.js';
import type { DeploymentPlan } from './deployer.js';

export interface RollbackInput {
  project: string;
  service: string;
  environment: string;
  /** The release number to return to; the previous one when absent. */
  to?: number;
  reason?: string;
}

export interface RollbackResult {
  release: number;
  revision: string;
  from: number;
  url: string;
  warm: boolean;
  durationMs: number;
}

/**
 * Move traffic back to an earlier release (the caller holds the service's rollout lock): at once when
 * its revision is still warm, otherwise after starting it from its stored artifact with its own
 * configuration snapshot. No rebuild. The release that was live becomes the warm one.
 */
export async function rollback(
  plane: ControlPlane,
  t: { project: Project; service: Service; environment: Environment },
  input: RollbackInput,
): Promise<RollbackResult> {
  const started = performance.now();

  const { store } = plane;
  const live = await store.live.get(t.service.id, t.environment.id);
  if (!live) throw new MaestroError('conflict', `${input.service} has nothing live in ${input.environment} to roll back from`);
  const history = await store.releases.list(t.service.id, t.environment.id, 1000);
  const current = history.find((release) => release.id === live.releaseId);
  const kept = history.slice(0, plane.options.releasesKept);
  let target: Release | undefined;
  if (input.to !== undefined) {
    target = history.find((release) => release.number === input.to);
    if (!target) throw new MaestroError('not_found', `${input.service} in ${input.environment} has no release ${input.to}`);
    if (!kept.includes(target)) {
      throw new MaestroError('conflict', `release ${input.to} is no longer stored; Maestro keeps the last ${plane.options.releasesKept} releases`);
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
  const wasWarm = plane.warm.isWarm(revision.id);
  plane.warm.take(revision.id);

  const running = plane.runner.replicas(revision.id);
  const missing = config.replicas - running.length;
  try {
    if (missing > 0) await plane.runner.start(revision, config, missing);
    await plane.runner.awaitHealthy(revision.id, plane.options.startTimeoutMs);
  } catch (error) {
    if (!wasWarm) await plane.runner.stop(revision.id, 0);
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
    await plane.routes.push();
  } catch (error) {
    await store.live.set(t.service.id, t.environment.id, live);
    throw new MaestroError('unavailable', `the router did not take the rollback: ${errorMessage(error)}`);
  }
  const durationMs = Math.round(performance.now() - started);

  // The environment's settings (warm_for, drain) as the latest deployment here declared them.
  const [latest] = await store.deployments.list({ serviceId: t.service.id, environmentId: t.environment.id, limit: 1 });
  const environment = (latest?.config as DeploymentPlan | undefined)?.environment;
  await plane.warm.keep({
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
    url: serviceUrl(input.project, input.service, input.environment, plane.options.routerPort),
    warm: wasWarm,
    durationMs,
  };
}
