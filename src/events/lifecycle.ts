import type { LifecycleEventRecord } from '../store/index.js';

/** What happens to a deployment, as told to webhooks, `maestro events` and GET /v1/events. */
export const LIFECYCLE_EVENT_TYPES = [
  'deployment.started',
  'deployment.step_progress',
  'deployment.health_check',
  'deployment.canary_promoted',
  'deployment.succeeded',
  'deployment.failed',
  'deployment.rolled_back',
  'policy.waived',
] as const;

export type LifecycleEventType = (typeof LIFECYCLE_EVENT_TYPES)[number];

export function isLifecycleEventType(value: unknown): value is LifecycleEventType {
  return typeof value === 'string' && (LIFECYCLE_EVENT_TYPES as readonly string[]).includes(value);
}

/** The public shape of a lifecycle event: the webhook body, an SSE message, an item of GET /v1/events. */
export interface LifecycleEvent {
  id: number;
  type: LifecycleEventType;
  deploymentId: string | null;
  projectId: string | null;
  releaseId: string | null;
  revisionId: string | null;
  actor: string | null;
  reason: string | null;
  data: Record<string, unknown>;
  at: string;
}

export function toLifecycleEvent(record: LifecycleEventRecord): LifecycleEvent {
  return {
    id: record.id,
    type: record.type as LifecycleEventType,
    deploymentId: record.deploymentId ?? null,
    projectId: record.projectId ?? null,
    releaseId: record.releaseId ?? null,
    revisionId: record.revisionId ?? null,
    actor: record.actor ?? null,
    reason: record.reason ?? null,
    data: record.data,
    at: record.createdAt.toISOString(),
  };
}
