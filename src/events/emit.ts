import { MaestroError } from '../common/index.js';
import type { Store } from '../store/index.js';
import type { EventBus } from './bus.js';
import { LIFECYCLE_EVENT_TYPES, isLifecycleEventType, toLifecycleEvent, type LifecycleEvent, type LifecycleEventType } from './lifecycle.js';

export interface LifecycleInput {
  type: LifecycleEventType;
  deploymentId?: string;
  projectId?: string;
  /** The release id. */
  release?: string;
  /** The revision id. */
  revision?: string;
  /** Who caused it: a token's name, or "maestro" for the controller's own decisions. */
  actor?: string;
  /** Why, in words a person can act on (a failed health check, a rollback's reason). */
  reason?: string;
  data?: Record<string, unknown>;
}

/**
 * Records a lifecycle event and its webhook deliveries in one statement (the outbox), then tells this
 * process's listeners. Sending happens later, in the dispatcher, so a slow receiver never slows the
 * caller: this resolves as soon as the row is committed. Call it once the change it reports has
 * committed (not inside a transaction that may still roll back), since listeners hear of it at once.
 */
export async function emitLifecycle(store: Store, bus: EventBus | undefined, input: LifecycleInput): Promise<LifecycleEvent> {
  if (!isLifecycleEventType(input.type)) {
    throw new MaestroError('validation_error', `unknown lifecycle event type ${JSON.stringify(input.type)}: use one of ${LIFECYCLE_EVENT_TYPES.join(', ')}`, {
      field: 'type',
    });
  }
  const { event, deliveries } = await store.lifecycle.record({
    type: input.type,
    ...(input.deploymentId ? { deploymentId: input.deploymentId } : {}),
    ...(input.projectId ? { projectId: input.projectId } : {}),
    ...(input.release ? { releaseId: input.release } : {}),
    ...(input.revision ? { revisionId: input.revision } : {}),
    ...(input.actor ? { actor: input.actor } : {}),
    ...(input.reason ? { reason: input.reason } : {}),
    data: input.data ?? {},
  });
  const view = toLifecycleEvent(event);
  bus?.publishLifecycle(view);
  if (deliveries > 0) bus?.deliveriesDue();
  return view;
}
