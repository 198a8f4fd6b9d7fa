/**
 * The loop every outbox sender runs (webhooks, commit statuses): poll for due rows, claim as many as
 * there is room for, send each, record its outcome, and wake again when a retry falls due. What a row
 * is, how it is claimed, sent and recorded, and what the logs say belong to the user.
 */
import { errorMessage, type Logger } from '../common/index.js';
import type { DeliveryOutcome } from '../store/index.js';
import type { AttemptResult } from './retry-policy.js';

/** The sender's log lines, in its user's words. */
export interface OutboxWording {
  /** Claiming due rows failed; the next wake tries again. */
  claimFailed: string;
  /** Sending threw instead of deciding an outcome; the row is tried again when its lease expires. */
  sendFailed: string;
  /** The row's lease went to another sender before its outcome was recorded. */
  leaseLost: string;
  /** Recording the outcome failed; the row is tried again when its lease expires. */
  recordFailed: string;
  sent: string;
  dead: string;
  retrying: string;
}

export interface OutboxSenderOptions<Row> {
  logger: Logger;
  /** How often to look for rows queued by other processes (ms). */
  pollIntervalMs: number;
  /** At most this many rows being sent at once. */
  maxInFlight: number;
  /** Leases at most `limit` due rows to this sender. */
  claimDue(limit: number): Promise<readonly Row[]>;
  /** One attempt at a row; `signal` aborts when stop() is called. */
  send(row: Row, signal: AbortSignal): Promise<DeliveryOutcome>;
  /** Records the outcome under this sender's lease; false when the lease was lost to another sender. */
  record(row: Row, outcome: DeliveryOutcome): Promise<boolean>;
  /** What names a row in the logs. */
  describe(row: Row): Record<string, unknown>;
  wording: OutboxWording;
  /** Something else that says rows are due now (an event bus); returns how to stop listening. */
  wakeOn?: (wake: () => void) => () => void;
}

/** Users extend it (or hold one), giving the row-specific parts as options; start() once, stop() on close. */
export class OutboxSender<Row> {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly abort = new AbortController();
  private poller: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private running = false;
  private ticking = false;
  private again = false;

  constructor(private readonly options: OutboxSenderOptions<Row>) {
    // Otherwise the outbox would go unsent without a word (nothing fits in flight) or be polled in a tight loop.
    if (!Number.isInteger(options.maxInFlight) || options.maxInFlight < 1) {
      throw new RangeError(`maxInFlight must be a whole number of 1 or more, got ${options.maxInFlight}`);
    }
    if (!Number.isFinite(options.pollIntervalMs) || options.pollIntervalMs <= 0) {
      throw new RangeError(`pollIntervalMs must be a number of milliseconds above 0, got ${options.pollIntervalMs}`);
    }
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.unsubscribe = this.options.wakeOn?.(() => this.wake());
    this.poller = setInterval(() => this.wake(), this.options.pollIntervalMs);
    this.poller.unref();
    this.wake();
  }

  /**
   * Look for due rows now rather than at the next poll. Wakes that come while a claim is running fold
   * into one more claim after it, so a burst of wakes costs at most two queries.
   */
  wake(): void {
    if (!this.running) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    this.ticking = true;
    void this.fill()
      .catch((error: unknown) => this.options.logger.warn({ err: errorMessage(error) }, this.options.wording.claimFailed))
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
    this.unsubscribe = undefined;
    this.abort.abort();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** How many rows are being sent now. */
  get busy(): number {
    return this.inFlight.size;
  }

  private async fill(): Promise<void> {
    while (this.running) {
      const room = this.options.maxInFlight - this.inFlight.size;
      if (room <= 0) return;
      const claimed = await this.options.claimDue(room);
      for (const row of claimed) this.track(this.deliver(row));
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

  /** Never throws: whatever goes wrong is logged, and a row left leased is tried again when its lease expires. */
  private async deliver(row: Row): Promise<void> {
    const { logger, wording } = this.options;
    let context: Record<string, unknown> = {};
    let outcome: DeliveryOutcome;
    try {
      context = this.options.describe(row);
      outcome = await this.options.send(row, this.abort.signal);
    } catch (error) {
      logger.warn({ ...context, err: errorMessage(error) }, wording.sendFailed);
      return;
    }
    try {
      if (!(await this.options.record(row, outcome))) {
        logger.warn(context, wording.leaseLost);
        return;
      }
    } catch (error) {
      logger.warn({ ...context, err: errorMessage(error) }, wording.recordFailed);
      return;
    }
    if (outcome.status === 'succeeded') logger.debug({ ...context, statusCode: outcome.statusCode }, wording.sent);
    else if (outcome.status === 'dead') logger.warn({ ...context, error: outcome.error }, wording.dead);
    else {
      logger.info({ ...context, error: outcome.error, retryInMs: outcome.retryInMs }, wording.retrying);
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

/**
 * An attempt that stop() cut off before any answer is no fault of the receiver: it goes back to the
 * queue as it was, due at once. Undefined when the attempt stands on its own.
 */
export function outcomeIfStopped(signal: AbortSignal, result: AttemptResult): DeliveryOutcome | undefined {
  if (!signal.aborted || result.statusCode !== undefined) return undefined;
  return { status: 'pending', retryInMs: 0, error: result.error ?? 'stopped' };
}
