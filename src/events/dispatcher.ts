import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from '../common/index.js';
import type { ClaimedDelivery, Store } from '../store/index.js';
import type { EventBus } from './bus.js';
import { OutboxSender, outcomeIfStopped } from './outbox-sender.js';
import { DEFAULT_RETRY_POLICY, checkRetryPolicy, decideDelivery, type RetryPolicy } from './retry-policy.js';
import { sendWebhook } from './send-webhook.js';

export interface WebhookDispatcherOptions {
  store: Store;
  logger: Logger;
  /** When given, the dispatcher wakes as soon as this process queues or redelivers a delivery. */
  bus?: EventBus;
  /** How often to look for due deliveries queued by other processes (ms). */
  pollIntervalMs?: number;
  /** Per-request limit (ms): a receiver that takes longer counts as failed. */
  timeoutMs?: number;
  /** At most this many requests at once, so a wall of slow receivers costs a bounded number of sockets. */
  maxInFlight?: number;
  retry?: Partial<RetryPolicy>;
  /** Names this dispatcher's leases; unique by default. */
  owner?: string;
}

/**
 * Sends the outbox: leases due deliveries from the store (several control planes share them through
 * SKIP LOCKED), posts them, records each outcome and schedules retries. Nothing here is on the path
 * of a rollout: emitLifecycle only writes rows, and this loop reads them. The loop itself (polling,
 * wakes, the in-flight limit, retry timers, stop) is the OutboxSender's.
 */
export class WebhookDispatcher extends OutboxSender<ClaimedDelivery> {
  readonly owner: string;

  constructor(options: WebhookDispatcherOptions) {
    const { store, bus } = options;
    const timeoutMs = options.timeoutMs ?? 10_000;
    const retry = checkRetryPolicy({ ...DEFAULT_RETRY_POLICY, ...options.retry });
    const owner = options.owner ?? `webhooks:${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    super({
      logger: options.logger,
      pollIntervalMs: options.pollIntervalMs ?? 1000,
      maxInFlight: options.maxInFlight ?? 8,
      ...(bus ? { wakeOn: (wake: () => void) => bus.onDeliveriesDue(wake) } : {}),
      claimDue: (limit) => store.deliveries.claimDue({ owner, leaseMs: timeoutMs + 30_000, limit }),
      send: async (claimed, signal) => {
        const result = await sendWebhook(claimed, { timeoutMs, signal });
        return outcomeIfStopped(signal, result) ?? decideDelivery(claimed.delivery.attempts, result, retry);
      },
      record: async ({ delivery }, outcome) => (await store.deliveries.record(delivery.id, owner, outcome)) !== undefined,
      describe: ({ delivery, event }) => ({ delivery: delivery.id, webhook: delivery.webhookId, event: event.type, attempt: delivery.attempts }),
      wording: {
        claimFailed: 'webhook dispatcher could not read due deliveries',
        sendFailed: 'could not send a webhook delivery; it is retried when its lease expires',
        leaseLost: 'webhook delivery lease was lost before its outcome was recorded; another dispatcher has it',
        recordFailed: 'could not record a webhook delivery outcome; it is retried when its lease expires',
        sent: 'webhook delivered',
        dead: 'webhook delivery dead-lettered',
        retrying: 'webhook delivery failed; retrying',
      },
    });
    this.owner = owner;
  }
}

/** Creates and starts the dispatcher; the control plane calls this once at start and `stop()` on close. */
export function startWebhookDispatcher(options: WebhookDispatcherOptions): WebhookDispatcher {
  const dispatcher = new WebhookDispatcher(options);
  dispatcher.start();
  return dispatcher;
}
