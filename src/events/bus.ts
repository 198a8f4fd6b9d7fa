import { EventEmitter } from 'node:events';
import type { LifecycleEvent } from './lifecycle.js';

/** What happened to a deployment, as streamed to `maestro deploy --wait` and the console. */
export interface DeploymentEvent {
  id: number;
  deploymentId: string;
  type: DeploymentEventType;
  data: Record<string, unknown>;
  at: string;
}

export type DeploymentEventType = 'status' | 'step' | 'log' | 'progress';

const LIFECYCLE = 'lifecycle';
const DELIVERIES_DUE = 'deliveries-due';

/**
 * In-process fan-out of events that the store has already recorded. Subscribers replay from the store
 * first (by id), then follow the bus, so no event is lost between the two.
 */
export class EventBus {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  publish(event: DeploymentEvent): void {
    this.emitter.emit(`deployment:${event.deploymentId}`, event);
  }

  subscribe(deploymentId: string, listener: (event: DeploymentEvent) => void): () => void {
    const key = `deployment:${deploymentId}`;
    this.emitter.on(key, listener);
    return () => this.emitter.off(key, listener);
  }

  /** A lifecycle event was committed (and its deliveries queued). */
  publishLifecycle(event: LifecycleEvent): void {
    this.emitter.emit(LIFECYCLE, event);
  }

  subscribeLifecycle(listener: (event: LifecycleEvent) => void): () => void {
    this.emitter.on(LIFECYCLE, listener);
    return () => this.emitter.off(LIFECYCLE, listener);
  }

  /** Deliveries became due (queued or redelivered): a dispatcher in this process need not wait for its next poll. */
  deliveriesDue(): void {
    this.emitter.emit(DELIVERIES_DUE);
  }

  onDeliveriesDue(listener: () => void): () => void {
    this.emitter.on(DELIVERIES_DUE, listener);
    return () => this.emitter.off(DELIVERIES_DUE, listener);
  }
}
