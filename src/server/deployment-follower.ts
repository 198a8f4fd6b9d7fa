import { isDeploymentStatus, isTerminal } from '../store/index.js';
import type { ControlPlane, DeploymentView } from './control-plane.js';
import type { DeploymentPlan } from './deployer.js';

const POLL_MS = 200;

/**
 * Follows deployments to their end from the store's records (so a build on another runner is seen too),
 * handing each recorded event to `line` as one line of text for a person, then returns where they ended.
 */
export async function followDeployments(
  plane: ControlPlane,
  deploymentIds: readonly string[],
  line: (text: string) => void,
  signal?: AbortSignal,
): Promise<DeploymentView[]> {
  const cursors = new Map(deploymentIds.map((id) => [id, 0]));
  const open = new Set(deploymentIds);
  // Events recorded here wake the loop at once; the poll is for runners on other machines.
  let wake: (() => void) | undefined;
  const unsubscribe = deploymentIds.map((id) => plane.bus.subscribe(id, () => wake?.()));
  try {
    while (open.size > 0 && !signal?.aborted) {
      for (const id of [...open]) {
        const deployment = await plane.store.deployments.get(id);
        if (!deployment) {
          open.delete(id);
          continue;
        }
        const service = (deployment.config as DeploymentPlan).service.service;
        for (const event of await plane.store.events.listSince(cursors.get(id)!, { deploymentId: id })) {
          cursors.set(id, event.id);
          const text = describeEvent(service, event.type, event.data as Record<string, unknown>);
          if (text) line(text);
        }
        if (isTerminal(deployment.status)) open.delete(id);
      }
      if (open.size > 0) await sleep(POLL_MS, signal, (resume) => (wake = resume));
    }
  } finally {
    for (const stop of unsubscribe) stop();
  }
  return Promise.all(deploymentIds.map((id) => plane.getDeployment(id)));
}

/** One recorded deployment event as a line for a terminal, or nothing for events a person need not see. */
export function describeEvent(service: string, type: string, data: Record<string, unknown>): string | undefined {
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  switch (type) {
    case 'status': {
      const status = text(data.status);
      if (!status || !isDeploymentStatus(status) || status === 'pending') return undefined;
      if (status === 'succeeded') return data.releaseBuild ? `${service}: release build stored (${text(data.artifact)?.slice(0, 19) ?? 'artifact'})` : `${service}: live (release ${String(data.release ?? '?')})`;
      if (status === 'failed' || status === 'cancelled' || status === 'rolled_back') return `${service}: ${status.replace('_', ' ')}: ${text(data.error) ?? text(data.reason) ?? 'no reason recorded'}`;
      return `${service}: ${status}`;
    }
    case 'step': {
      const state = text(data.state);
      if (state === 'started') return `${service}: ${text(data.step)}...`;
      const cached = data.cache === 'hit' ? ' (cached)' : '';
      return `${service}: ${text(data.step)} ${state}${cached}${text(data.error) ? `: ${text(data.error)}` : ''}`;
    }
    case 'progress':
      return `${service}: ${text(data.message) ?? ''}`;
    case 'log':
      return `${service} | ${text(data.line) ?? ''}`;
    default:
      return undefined;
  }
}

/** Waits `ms`, or less when aborted or when the function handed to `onEarly` is called. */
function sleep(ms: number, signal: AbortSignal | undefined, onEarly: (resume: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      onEarly(() => undefined);
      resolve();
    }
    onEarly(done);
    signal?.addEventListener('abort', done, { once: true });
  });
}
