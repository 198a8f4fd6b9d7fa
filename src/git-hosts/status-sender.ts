/**
 * Sends the commit-status outbox: leases due statuses (several control planes share them through SKIP
 * LOCKED; a status waits for the earlier ones of its commit and context), posts each to its provider,
 * records the outcome and schedules retries. Nothing waits on it: a provider that is down only delays
 * its own statuses.
 */
import { request } from 'undici';
import { errorMessage, type Logger } from '../common/index.js';
import { DEFAULT_RETRY_POLICY, OutboxSender, outcomeIfStopped, type RetryPolicy } from '../events/index.js';
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

/** The commit-status outbox; the loop itself (polling, wakes, the in-flight limit, retry timers, stop) is the OutboxSender's. */
export class CommitStatusSender extends OutboxSender<ClaimedCommitStatus> {
  constructor(options: CommitStatusSenderOptions) {
    const { store } = options;
    const timeoutMs = options.timeoutMs ?? 10_000;
    const retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    super({
      logger: options.logger,
      pollIntervalMs: options.pollIntervalMs ?? 1000,
      maxInFlight: options.maxInFlight ?? 8,
      claimDue: (limit) => store.commitStatuses.claimDue({ leaseMs: timeoutMs + 30_000, limit }),
      send: (claimed, signal) => attemptStatus(claimed, { timeoutMs, retry, signal }),
      record: async ({ status }, outcome) => (await store.commitStatuses.record(status.id, status.attempts, outcome)) !== undefined,
      describe: ({ status }) => ({ status: status.id, provider: status.provider, repository: status.repository, sha: status.sha, context: status.context, attempt: status.attempts }),
      wording: {
        claimFailed: 'commit status sender could not read due statuses',
        sendFailed: 'could not send a commit status; it is retried when its lease expires',
        leaseLost: 'commit status lease was lost before its outcome was recorded; another sender has it',
        recordFailed: 'could not record a commit status outcome; it is retried when its lease expires',
        sent: 'commit status sent',
        dead: 'commit status given up',
        retrying: 'commit status not sent; retrying',
      },
    });
  }
}

interface AttemptOptions {
  timeoutMs: number;
  retry: RetryPolicy;
  /** Aborts when the sender stops. */
  signal: AbortSignal;
}

async function attemptStatus({ status, hook }: ClaimedCommitStatus, options: AttemptOptions): Promise<DeliveryOutcome> {
  const name = PROVIDER_NAMES[status.provider];
  if (!hook) return { status: 'dead', error: `the project is no longer linked to ${name}` };
  if (!hook.statusToken) {
    return { status: 'dead', error: `the project has no ${name} status token; set one with \`maestro hooks set ${status.provider} --status-token-env NAME\`` };
  }
  const result = await post(commitStatusRequest(status, { statusToken: hook.statusToken, ...(hook.statusUrl ? { statusUrl: hook.statusUrl } : {}) }), options);
  return outcomeIfStopped(options.signal, result) ?? decideStatusAttempt(status.provider, status.attempts, result, options.retry);
}

async function post(req: ReturnType<typeof commitStatusRequest>, { timeoutMs, signal }: AttemptOptions): Promise<StatusAttempt> {
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const response = await request(req.url, {
      method: req.method,
      headers: req.headers,
      body: req.body,
      signal: AbortSignal.any([timeout, signal]),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const retryAfter = response.headers['retry-after'];
    const body = await readStart(response.body);
    return { statusCode: response.statusCode, body, ...(typeof retryAfter === 'string' ? { retryAfter } : {}) };
  } catch (error) {
    if (timeout.aborted) return { error: `no answer within ${timeoutMs} ms` };
    if (signal.aborted) return { error: 'the sender stopped before an answer came' };
    const err = error as { code?: string; cause?: { code?: string; message?: string } };
    const code = err.cause?.code ?? err.code;
    return { error: code ? `${code}: ${err.cause?.message ?? errorMessage(error)}` : errorMessage(error) };
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
