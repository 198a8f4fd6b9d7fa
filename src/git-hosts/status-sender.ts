/**
 * Sends the commit-status outbox: leases due statuses (several control planes share them through SKIP
 * LOCKED; a status waits for the earlier ones of its commit and context), posts each to its provider,
 * records the outcome and schedules retries. Nothing waits on it: a provider that is down only delays
 * its own statuses.
 */
import { request } from 'undici';
import { errorMessage, type Logger } from '../common/index.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../events/index.js';
import type { ClaimedCommitStatus, DeliveryOutcome, Store } from '../store/index.js';
import { PROVIDER_NAMES } from './providers.js';
import { decideStatusAttempt, type StatusAttempt } from './status-decision.js';
import { commitStatusRequest } from './status-requests.js';

export interface CommitStatusSenderOptions {
  store: Store;
  logger: Logger;
  /** How often to look for statuses queued by other processes (ms). */
  pollIntervalMs?: number;
  /** Per-request limit (ms). */
  timeoutMs?: number;
  /** At most this many requests at once. */
  maxInFlight?: number;
  retry?: Partial<RetryPolicy>;
}

/** The start of a refusal's body is kept for its reason; the rest is read and dropped. */
const MAX_BODY_BYTES = 4096;

export class CommitStatusSender {
  private readonly store: Store;
  private readonly logger: Logger;
  private readonly pollIntervalMs: number;
  private readonly timeoutMs: number;
  private readonly maxInFlight: number;
  private readonly retry: RetryPolicy;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly abort = new AbortController();
  private poller: NodeJS.Timeout | undefined;
  private running = false;
  private ticking = false;
  private again = false;

  constructor(options: CommitStatusSenderOptions) {
    this.store = options.store;
    this.logger = options.logger;
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.maxInFlight = options.maxInFlight ?? 8;
    this.retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.poller = setInterval(() => this.wake(), this.pollIntervalMs);
    this.poller.unref();
    this.wake();
  }

  /** Look for due statuses now rather than at the next poll. */
  wake(): void {
    if (!this.running) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    this.ticking = true;
    void this.fill()
      .catch((error: unknown) => this.logger.warn({ err: errorMessage(error) }, 'commit status sender could not read due statuses'))
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
    this.abort.abort();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private async fill(): Promise<void> {
    while (this.running) {
      const room = this.maxInFlight - this.inFlight.size;
      if (room <= 0) return;
      const claimed = await this.store.commitStatuses.claimDue({ leaseMs: this.timeoutMs + 30_000, limit: room });
      for (const status of claimed) this.track(this.deliver(status));
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

  private async deliver(claimed: ClaimedCommitStatus): Promise<void> {
    const { status } = claimed;
    const outcome = await this.attempt(claimed);
    const context = { status: status.id, provider: status.provider, repository: status.repository, sha: status.sha, context: status.context, attempt: status.attempts };
    try {
      if (!(await this.store.commitStatuses.record(status.id, status.attempts, outcome))) {
        this.logger.warn(context, 'commit status lease was lost before its outcome was recorded; another sender has it');
        return;
      }
    } catch (error) {
      this.logger.warn({ ...context, err: errorMessage(error) }, 'could not record a commit status outcome; it is retried when its lease expires');
      return;
    }
    if (outcome.status === 'succeeded') this.logger.debug(context, 'commit status sent');
    else if (outcome.status === 'dead') this.logger.warn({ ...context, error: outcome.error }, 'commit status given up');
    else {
      this.logger.info({ ...context, error: outcome.error, retryInMs: outcome.retryInMs }, 'commit status not sent; retrying');
      this.wakeIn(outcome.retryInMs);
    }
  }

  private async attempt({ status, hook }: ClaimedCommitStatus): Promise<DeliveryOutcome> {
    const name = PROVIDER_NAMES[status.provider];
    if (!hook) return { status: 'dead', error: `the project is no longer linked to ${name}` };
    if (!hook.statusToken) {
      return { status: 'dead', error: `the project has no ${name} status token; set one with \`maestro hooks set ${status.provider} --status-token-env NAME\`` };
    }
    const result = await this.post(commitStatusRequest(status, { statusToken: hook.statusToken, ...(hook.statusUrl ? { statusUrl: hook.statusUrl } : {}) }));
    // Cut off by stop(): not the provider's fault, so it goes back to the queue as it was.
    if (this.abort.signal.aborted && result.statusCode === undefined) return { status: 'pending', retryInMs: 0, error: result.error ?? 'stopped' };
    return decideStatusAttempt(status.provider, status.attempts, result, this.retry);
  }

  private async post(req: ReturnType<typeof commitStatusRequest>): Promise<StatusAttempt> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    try {
      const response = await request(req.url, {
        method: req.method,
        headers: req.headers,
        body: req.body,
        signal: AbortSignal.any([timeout, this.abort.signal]),
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
      const retryAfter = response.headers['retry-after'];
      const body = await readStart(response.body);
      return { statusCode: response.statusCode, body, ...(typeof retryAfter === 'string' ? { retryAfter } : {}) };
    } catch (error) {
      if (timeout.aborted) return { error: `no answer within ${this.timeoutMs} ms` };
      if (this.abort.signal.aborted) return { error: 'the sender stopped before an answer came' };
      const err = error as { code?: string; cause?: { code?: string; message?: string } };
      const code = err.cause?.code ?? err.code;
      return { error: code ? `${code}: ${err.cause?.message ?? errorMessage(error)}` : errorMessage(error) };
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

async function readStart(body: AsyncIterable<Buffer> & { dump(options?: { limit: number }): Promise<void> }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      if (size < MAX_BODY_BYTES) chunks.push(chunk);
      size += chunk.length;
      if (size >= 1024 * 1024) break;
    }
  } catch {
    // a body cut short still leaves the status code to decide on
  }
  await body.dump({ limit: 0 }).catch(() => undefined);
  return Buffer.concat(chunks).toString('utf8').slice(0, MAX_BODY_BYTES);
}

/** Creates and starts the sender; the control plane calls this once at start and `stop()` on close. */
export function startCommitStatusSender(options: CommitStatusSenderOptions): CommitStatusSender {
  const sender = new CommitStatusSender(options);
  sender.start();
  return sender;
}
