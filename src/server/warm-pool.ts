import type { Logger } from '../common/index.js';
import { errorMessage } from '../common/index.js';
import type { Store } from '../store/index.js';
import type { RevisionRunner } from './revisions.js';

interface WarmEntry {
  serviceId: string;
  environmentId: string;
  until: number;
  timer: NodeJS.Timeout;
}

/**
 * The previous revision of each service and environment stays running, out of traffic, for a window,
 * so a rollback to it is a route change and nothing more. One warm revision per service and environment:
 * the one a rollback returns to.
 */
export class WarmPool {
  private readonly entries = new Map<string, WarmEntry>();

  constructor(
    private readonly store: Store,
    private readonly runner: RevisionRunner,
    private readonly logger: Logger,
  ) {}

  isWarm(revisionId: string): boolean {
    return this.entries.has(revisionId);
  }

  warmUntil(revisionId: string): Date | undefined {
    const entry = this.entries.get(revisionId);
    return entry ? new Date(entry.until) : undefined;
  }

  /** Keep `revisionId` warm for `forMs`, retiring any other warm revision of the same service and environment. */
  async keep(input: { revisionId: string; serviceId: string; environmentId: string; forMs: number; drainMs: number }): Promise<void> {
    for (const [otherId, entry] of this.entries) {
      if (otherId !== input.revisionId && entry.serviceId === input.serviceId && entry.environmentId === input.environmentId) {
        await this.retire(otherId, input.drainMs);
      }
    }
    this.take(input.revisionId);
    const until = Date.now() + input.forMs;
    const timer = setTimeout(() => {
      this.retire(input.revisionId, input.drainMs).catch((error: unknown) =>
        this.logger.warn({ revision: input.revisionId, err: errorMessage(error) }, 'could not stop a warm revision'),
      );
    }, input.forMs);
    timer.unref();
    this.entries.set(input.revisionId, { serviceId: input.serviceId, environmentId: input.environmentId, until, timer });
    await this.store.revisions.setState(input.revisionId, 'warm', new Date(until).toISOString());
  }

  /** The revision goes live again (a rollback): it is no longer warm and must not be stopped. */
  take(revisionId: string): void {
    const entry = this.entries.get(revisionId);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.entries.delete(revisionId);
  }

  /** Stop a warm revision after letting in-flight requests finish. */
  async retire(revisionId: string, drainMs: number): Promise<void> {
    this.take(revisionId);
    await this.runner.stop(revisionId, drainMs);
    await this.store.revisions.setState(revisionId, 'stopped');
  }

  stopTimers(): void {
    for (const entry of this.entries.values()) clearTimeout(entry.timer);
    this.entries.clear();
  }
}
