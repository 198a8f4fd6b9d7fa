import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from '../common/index.js';
import type { ClaimedDelivery, Store } from '../store/index.js';
import type { EventBus } from './bus.js';
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
 * of a rollout: emitLifecycle only writes rows, and this loop reads them.
 */
export class WebhookDispatcher {
  private readonly store: Store;
  private readonly logger: Logger;
  private readonly pollIntervalMs: number;
  private readonly timeoutMs: number;
  private readonly maxInFlight: number;
  private readonly retry: RetryPolicy;
  readonly owner: string;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly abort = new AbortController();
  private poller: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private running = false;
  private ticking = false;
  private again = false;

  constructor(private readonly options: WebhookDispatcherOptions) {
    this.store = options.store;
    this.logger = options.logger;
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.maxInFlight = options.maxInFlight ?? 8;
    this.retry = checkRetryPolicy({ ...DEFAULT_RETRY_POLICY, ...options.retry });
    this.owner = options.owner ?? `webhooks:${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.unsubscribe = this.options.bus?.onDeliveriesDue(() => this.wake());
    this.poller = setInterval(() => this.wake(), this.pollIntervalMs);
    this.poller.unref();
    this.wake();
  }

  /** Look for due deliveries now rather than at the next poll. */
  wake(): void {
    if (!this.running) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    this.ticking = true;
    void this.fill()
      .catch((error: unknown) => this.logger.warn({ err: error }, 'webhook dispatcher could not read due deliveries'))
      .finally(() => {
        this.ticking = false;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  /** Stops polling, cuts off requests in flight (they go back to the queue) and waits for their outcomes to be recorded. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.poller) clearInterval(this.poller);
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.unsubscribe?.();
    this.abort.abort();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** How many requests are on their way now. */
  get busy(): number {
    return this.inFlight.size;
  }

  private async fill(): Promise<void> {
    while (this.running) {
      const room = this.maxInFlight - this.inFlight.size;
      if (room <= 0) return;
      const claimed = await this.store.deliveries.claimDue({ owner: this.owner, leaseMs: this.timeoutMs + 30_000, limit: room });
      for (const delivery of claimed) this.track(this.deliver(delivery));
      if (claimed.length < room) return;
    }
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => {
      this.inFlight.delete(work);
      this.wake();
    });
  }

  private async deliver(claimed: ClaimedDelivery): Promise<void> {
    const { delivery } = claimed;
    const result = await sendWebhook(claimed, { timeoutMs: this.timeoutMs, signal: this.abort.signal });
    // Cut off by stop(): not the receiver's fault, so it goes back to the queue as it was.
    const outcome = this.abort.signal.aborted && result.statusCode === undefined
      ? { status: 'pending' as const, retryInMs: 0, error: result.error ?? 'stopped' }
      : decideDelivery(delivery.attempts, result, this.retry);
    const context = { delivery: delivery.id, webhook: delivery.webhookId, event: claimed.event.type, attempt: delivery.attempts };
    try {
      const recorded = await this.store.deliveries.record(delivery.id, this.owner, outcome);
      if (!recorded) {
        this.logger.warn(context, 'webhook delivery lease was lost before its outcome was recorded; another dispatcher has it');
        return;
      }
    } catch (error) {
      this.logger.warn({ ...context, err: error }, 'could not record a webhook delivery outcome; it is retried when its lease expires');
      return;
    }
    if (outcome.status === 'succeeded') this.logger.debug({ ...context, statusCode: outcome.statusCode }, 'webhook delivered');
    else if (outcome.status === 'dead') this.logger.warn({ ...context, error: outcome.error }, 'webhook delivery dead-lettered');
    else {
      this.logger.info({ ...context, error: outcome.error, retryInMs: outcome.retryInMs }, 'webhook delivery failed; retrying');
      this.wakeIn(outcome.retryInMs);
    }
  }

  private wakeIn(ms: number): void {
    if (!this.running) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.wake();
    }, ms);
    timer.unref();
    this.timers.add(timer);
  }
}

/** Creates and starts the dispatcher; the control plane calls this once at start and `stop()` on close. */
export function startWebhookDispatcher(options: WebhookDispatcherOptions): WebhookDispatcher {
  const dispatcher = new WebhookDispatcher(options);
  dispatcher.start();
  return dispatcher;
}
