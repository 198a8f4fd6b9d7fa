import type { Logger } from '../common/index.js';
import { errorMessage } from '../common/index.js';
import type { ServiceConfig } from '../manifest/index.js';
import { ControlPlane } from './control-plane.js';
import type { DeploymentPlan } from './deployer.js';

/**
 * What a starting control plane does before it takes requests: adopt the replicas that outlived the
 * previous one, take back the builds its runner had in hand, bring back anything live that is not
 * running, stop what nothing refers to, and push the route table. Unfinished deployments are then
 * resumed by the reconciler.
 */
const ADOPTION_HEALTH_TIMEOUT_MS = 10_000;

export async function recover(plane: ControlPlane, logger: Logger): Promise<{ adopted: number; resuming: number; restarted: number; stopped: number }> {
  const { store, agent, runner } = plane;
  const adopted = await agent.adopt();

  // Builds this data directory's runner had in hand go back to the queue at once; the reconciler then
  // resumes every unfinished deployment where its records say it was.
  const released = await store.jobs.releaseOwnedBy(ControlPlane.localRunnerPrefix(plane.paths));
  const resuming = await store.deployments.unfinished();

  const keep = new Set<string>(resuming.flatMap((deployment) => (deployment.revisionId ? [deployment.revisionId] : [])));
  let restarted = 0;
  for (const row of await store.live.list()) {
    keep.add(row.revisionId);
    const revision = await store.revisions.get(row.revisionId);
    if (!revision) continue;
    const config = revision.config as ServiceConfig;
    const missing = config.replicas - runner.replicas(revision.id).length;
    if (missing > 0) {
      try {
        await runner.start(revision, config, missing);
        restarted += missing;
      } catch (error) {
        logger.error({ revision: revision.id, err: errorMessage(error) }, 'could not restart a live revision');
      }
    }
    // The previous revision stays warm for what is left of its window.
    if (row.previousRevisionId && row.previousRevisionId !== row.revisionId) {
      const previous = await store.revisions.get(row.previousRevisionId);
      const until = previous?.state === 'warm' && previous.detail ? Date.parse(previous.detail) : NaN;
      if (previous && until > Date.now() && runner.replicas(previous.id).length > 0) {
        keep.add(previous.id);
        const plan = await planFor(plane, row.releaseId);
        await plane.warm.keep({
          revisionId: previous.id,
          serviceId: row.serviceId,
          environmentId: row.environmentId,
          forMs: until - Date.now(),
          drainMs: plan?.environment.drainMs ?? 5_000,
        });
      }
    }
  }

  let stopped = 0;
  const orphans = new Set(agent.list().map((replica) => replica.revisionId).filter((id) => !keep.has(id)));
  for (const revisionId of orphans) {
    await runner.stop(revisionId, 0);
    await store.revisions.setState(revisionId, 'stopped').catch(() => undefined);
    stopped += 1;
  }
  // Adopted replicas are probed again before the router hears anything: until then it keeps its last table.
  await Promise.allSettled([...keep].map((revisionId) => runner.awaitHealthy(revisionId, ADOPTION_HEALTH_TIMEOUT_MS)));
  await plane.routes.push();
  logger.info({ adopted: adopted.length, resuming: resuming.length, released: released.length, restarted, stopped }, 'recovered');
  return { adopted: adopted.length, resuming: resuming.length, restarted, stopped };
}

async function planFor(plane: ControlPlane, releaseId: string): Promise<DeploymentPlan | undefined> {
  for (const deployment of await plane.store.deployments.list({ limit: 200 })) {
    if (deployment.releaseId === releaseId) return deployment.config as DeploymentPlan;
  }
  return undefined;
}
