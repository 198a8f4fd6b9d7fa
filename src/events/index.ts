/** Lifecycle events, the outbox of their webhook deliveries, and in-process fan-out. */
export { EventBus } from './bus.js';
export type { DeploymentEvent, DeploymentEventType } from './bus.js';
export { LIFECYCLE_EVENT_TYPES, isLifecycleEventType, toLifecycleEvent, type LifecycleEvent, type LifecycleEventType } from './lifecycle.js';
export { emitLifecycle, type LifecycleInput } from './emit.js';
export { checkWebhookEvents, checkWebhookSecret, checkWebhookUrl, generateWebhookSecret } from './webhook-input.js';
export {
  DELIVERY_HEADER,
  EVENT_HEADER,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  signWebhookBody,
  verifyWebhookSignature,
} from './signature.js';
export { DEFAULT_RETRY_POLICY, decideDelivery, retryDelayMs, type AttemptResult, type RetryPolicy } from './retry-policy.js';
export { sendWebhook, webhookBody } from './send-webhook.js';
export { postSigned, type SignedPost, type SignedPostOutcome } from './signed-post.js';
export { WebhookDispatcher, startWebhookDispatcher, type WebhookDispatcherOptions } from './dispatcher.js';
export { OutboxSender, outcomeIfStopped, type OutboxSenderOptions, type OutboxWording } from './outbox-sender.js';
