import { MaestroError } from '../common/index.js';
import type { ControlPlane } from '../server/control-plane.js';
import type { Deployment } from '../store/index.js';
import type { PreviewEffects } from './effects.js';

/** How long an environment's deployments get to end before its destruction gives up (and gc tries again). */
const CANCEL_DEADLINE_MS = 45_000;
/**
 * An abort a rollout has not acted on by then ends the deployment directly: a rollout waits out a
 * health check (up to the start timeout) before it looks at requests again, and the environment is
 * going anyway, so a clean rollback is worth only a few seconds. Failing it stops its new revision,
 * which ends that wait and the rollout with it.
 */
const ABORT_GRACE_MS = 5_000;
const POLL_MS = 100;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The preview manager's effects, carried out by the control plane's own parts. */
export function controlPlaneEffects(plane: ControlPlane): PreviewEffects {
  return {
    async cancelDeployments(environmentId, reason) {
      const abortsAsked = new Map<string, number>();
      const deadline = Date.now() + CANCEL_DEADLINE_MS;
      for (;;) {
        const open = (await plane.store.deployments.unfinished()).filter((deployment) => deployment.environmentId === environmentId);
        if (open.length === 0) return;
        if (Date.now() > deadline) {
          throw new MaestroError('timeout', `deployments ${open.map((d) => `${d.id} (${d.status})`).join(', ')} did not end in ${CANCEL_DEADLINE_MS / 1000}s; the next garbage collection tries again`);
        }
        for (const deployment of open) {
          await endDeployment(plane, deployment, reason, abortsAsked).catch(() => {
            // It moved on meanwhile (its build ended, its rollout finished); the next look sees where it is.
          });
        }
        await sleep(POLL_MS);
      }
    },

    async stopRevision(revisionId) {
      plane.warm.take(revisionId);
      await plane.runner.stop(revisionId, 0);
    },

    replicas() {
      return plane.agent.list().map((replica) => ({ id: replica.id, revisionId: replica.revisionId, ...(replica.pid ? { pid: replica.pid } : {}) }));
    },

    async stopReplica(replicaId) {
      await plane.agent.stop(replicaId, { graceMs: 2_000 });
    },

    async pushRoutes() {
      await plane.routes.push();
    },

    async routes() {
      const table = await plane.routes.client.getRoutes();
      return table.routes.map((route) => ({ host: route.host, project: route.project, service: route.service, environment: route.environment }));
    },
  };
}

/**
 * One step towards ending a deployment, as `maestro abort` and `maestro build cancel` would: a rollout
 * is asked to abort (its loop rolls back), a build is cancelled, anything else ends as cancelled.
 */
async function endDeployment(plane: ControlPlane, deployment: Deployment, reason: string, abortsAsked: Map<string, number>): Promise<void> {
  const { store } = plane;
  if (deployment.status === 'deploying') {
    const asked = abortsAsked.get(deployment.id);
    if (asked === undefined) {
      abortsAsked.set(deployment.id, Date.now());
      await store.deployments.requestRollout(deployment.id, { abort: true, reason, actor: 'maestro' });
      plane.reconciler.wake();
    } else if (Date.now() - asked > ABORT_GRACE_MS) {
      await plane.deployer.fail(deployment, reason, undefined, 'cancelled');
    }
    return;
  }
  const build = (await store.builds.forDeployment(deployment.id)).at(-1);
  if (build && (build.status === 'pending' || build.status === 'running')) {
    await plane.cancelBuild(build.id);
    return;
  }
  // Not started, or built and not yet rolling out: nothing runs for it, so it simply ends.
  await plane.deployer.fail(deployment, reason, undefined, 'cancelled');
}
