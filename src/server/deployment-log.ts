import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { emitLifecycle, type DeploymentEvent, type DeploymentEventType, type EventBus, type LifecycleInput } from '../events/index.js';
import type { Store } from '../store/index.js';

/**
 * A deployment's story: every status change, step and output line is recorded in the store (so a
 * client that connects late replays it) and published on the bus (so a connected client sees it live),
 * and output lines also go to a plain log file.
 */
export class DeploymentLog {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly bus: EventBus,
    private readonly logDir: string,
    readonly deploymentId: string,
    private readonly projectId: string,
  ) {}

  get file(): string {
    return join(this.logDir, `${this.deploymentId}.log`);
  }

  status(status: string, detail: Record<string, unknown> = {}): Promise<void> {
    return this.record('status', { status, ...detail });
  }

  step(name: string, state: 'started' | 'succeeded' | 'failed' | 'skipped', detail: Record<string, unknown> = {}): Promise<void> {
    return this.record('step', { step: name, state, ...detail });
  }

  progress(message: string): Promise<void> {
    return this.record('progress', { message });
  }

  line(text: string, stream: 'stdout' | 'stderr' = 'stdout', step?: string): Promise<void> {
    return this.record('log', { line: text, stream, ...(step ? { step } : {}) });
  }

  /**
   * A lifecycle event (deployment.started, .succeeded, .rolled_back...): kept in the outbox and sent to
   * webhooks. A failure to record it never stops the deployment it describes.
   */
  async lifecycle(type: LifecycleInput['type'], fields: Omit<LifecycleInput, 'type' | 'deploymentId' | 'projectId'> = {}): Promise<void> {
    await emitLifecycle(this.store, this.bus, { type, deploymentId: this.deploymentId, projectId: this.projectId, actor: 'maestro', ...fields }).catch(
      () => undefined,
    );
  }

  /** Events are written in order; callers may fire and forget, `flush` waits for all of them. */
  flush(): Promise<void> {
    return this.chain.then(() => undefined);
  }

  private record(type: DeploymentEventType, data: Record<string, unknown>): Promise<void> {
    const next = this.chain.then(async () => {
      if (type === 'log' || type === 'progress') {
        await mkdir(this.logDir, { recursive: true });
        await appendFile(this.file, `${String(data.line ?? data.message)}\n`);
      }
      const stored = await this.store.events.append({ type, deploymentId: this.deploymentId, projectId: this.projectId, data });
      const event: DeploymentEvent = {
        id: stored.id,
        deploymentId: this.deploymentId,
        type,
        data,
        at: stored.createdAt.toISOString(),
      };
      this.bus.publish(event);
    });
    this.chain = next.catch(() => undefined);
    return next;
  }
}
