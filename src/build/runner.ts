/**
 * A runner takes jobs from the store's durable queue and runs them, a few at a time: in-process by
 * default, or as `maestro runner` processes elsewhere that share the same Postgres. A lease with
 * heartbeats marks a job as taken; a runner that dies stops renewing it and the job goes back to the
 * queue. Transient failures are retried with exponential backoff; a step that failed because the
 * code is wrong is not.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Logger } from '../common/index.js';
import { errorMessage } from '../common/index.js';
import type { Job, Store } from '../store/index.js';
import { StepFailure } from './pipeline.js';

export interface RunnerOptions {
  store: Store;
  /** How this runner is named in leases; must be unique among live runners. */
  owner?: string;
  kinds: string[];
  /** Jobs run at once by this runner. */
  concurrency: number;
  /** Running jobs per project across all runners. */
  perProjectLimit?: number;
  leaseMs?: number;
  pollMs?: number;
  logger: Logger;
  execute(job: Job, signal: AbortSignal): Promise<void>;
  /** Told when a job ended here, whatever the outcome (the control plane reconciles at once). */
  onSettled?(job: Job): void;
}

export const DEFAULT_LEASE_MS = 15_000;
const MAX_BACKOFF_MS = 30_000;

export function retryBackoffMs(attempts: number): number {
  return Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.max(0, attempts - 1));
}

export function runnerName(prefix = 'runner'): string {
  return `${prefix}:${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

export class Runner {
  readonly owner: string;
  private readonly active = new Map<string, AbortController>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private stopped = true;
  private readonly idle = new Set<() => void>();

  constructor(private readonly options: RunnerOptions) {
    this.owner = options.owner ?? runnerName();
  }

  get running(): number {
    return this.active.size;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** Look for work now (a job was just queued). */
  wake(): void {
    if (!this.stopped) this.schedule(0);
  }

  /** Cancel a job this runner is running, at once. */
  cancelLocal(jobId: string): boolean {
    const controller = this.active.get(jobId);
    controller?.abort(new Error('cancelled'));
    return controller !== undefined;
  }

  /** Stop taking work; with `abort`, stop what runs too (its jobs go back to the queue when their leases lapse). */
  async stop({ abort }: { abort: boolean }): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (abort) for (const controller of this.active.values()) controller.abort(new Error('the runner is stopping'));
    if (this.active.size > 0) await new Promise<void>((resolve) => this.idle.add(resolve));
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.poll(), ms);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    if (this.polling || this.stopped) return;
    this.polling = true;
    try {
      await this.options.store.jobs.reapExpired();
      while (!this.stopped && this.active.size < this.options.concurrency) {
        const job = await this.options.store.jobs.claim({
          owner: this.owner,
          leaseMs: this.options.leaseMs ?? DEFAULT_LEASE_MS,
          kinds: this.options.kinds,
          ...(this.options.perProjectLimit ? { perProjectLimit: this.options.perProjectLimit } : {}),
        });
        if (!job) break;
        this.run(job);
      }
    } catch (error) {
      this.options.logger.warn({ err: errorMessage(error) }, 'the runner could not take jobs');
    } finally {
      this.polling = false;
      if (!this.stopped) this.schedule(this.options.pollMs ?? 500);
    }
  }

  private run(job: Job): void {
    const { store, logger } = this.options;
    const leaseMs = this.options.leaseMs ?? DEFAULT_LEASE_MS;
    const controller = new AbortController();
    this.active.set(job.id, controller);
    let lost = false;
    const heartbeat = setInterval(() => {
      store.jobs.heartbeat(job.id, this.owner, leaseMs).then(
        ({ held, cancelRequested }) => {
          if (!held) {
            lost = true;
            controller.abort(new Error('the job lease was lost'));
          } else if (cancelRequested) {
            controller.abort(new Error('cancelled'));
          }
        },
        (error: unknown) => logger.warn({ job: job.id, err: errorMessage(error) }, 'heartbeat failed'),
      );
    }, Math.max(100, Math.floor(leaseMs / 3)));
    heartbeat.unref();

    const settle = async (): Promise<void> => {
      try {
        await this.options.execute(job, controller.signal);
        await store.jobs.finish(job.id, this.owner, { status: 'succeeded' });
      } catch (error) {
        if (lost) return;
        const message = errorMessage(error);
        if (controller.signal.aborted) {
          const cancelled = String((controller.signal.reason as Error | undefined)?.message) === 'cancelled';
          if (cancelled) await store.jobs.finish(job.id, this.owner, { status: 'cancelled', error: 'cancelled' });
          // A stopping runner leaves its jobs to lapse back to the queue.
          return;
        }
        if (error instanceof StepFailure && error.transient) {
          const backoffMs = retryBackoffMs(job.attempts);
          logger.warn({ job: job.id, attempt: job.attempts, backoffMs, err: message }, 'transient failure; retrying');
          await store.jobs.retry(job.id, this.owner, { error: message, backoffMs });
        } else {
          await store.jobs.finish(job.id, this.owner, { status: 'failed', error: message });
        }
      }
    };
    void settle()
      .catch((error: unknown) => logger.error({ job: job.id, err: errorMessage(error) }, 'could not record a job outcome'))
      .finally(async () => {
        clearInterval(heartbeat);
        this.active.delete(job.id);
        const latest = await store.jobs.get(job.id).catch(() => undefined);
        this.options.onSettled?.(latest ?? job);
        if (this.active.size === 0) {
          for (const resolve of this.idle) resolve();
          this.idle.clear();
        }
        this.wake();
      });
  }
}
