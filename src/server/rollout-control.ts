import { MaestroError } from '../common/index.js';
import { isInProgress, type Deployment, type Store } from '../store/index.js';
import { requireTarget } from './lookups.js';

/** The deployment rolling out to a service in an environment now, or a clear error naming what to do. */
export async function rolloutInProgress(store: Store, project: string, service: string, environment: string, verb: string): Promise<Deployment> {
  const target = await requireTarget(store, project, service, environment);
  const recent = await store.deployments.list({ serviceId: target.service.id, environmentId: target.environment.id, limit: 20 });
  const running = recent.find((deployment) => isInProgress(deployment.status));
  if (!running) {
    throw new MaestroError('conflict', `nothing to ${verb}: ${service} in ${environment} has no rollout in progress (see \`maestro status\`)`);
  }
  return running;
}
