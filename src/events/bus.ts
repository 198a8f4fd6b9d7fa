import { EventEmitter } from 'node:events';

/** What happened to a deployment, as streamed to `maestro deploy --wait` and the console. */
export interface DeploymentEvent {
  id: number;
  deploymentId: string;
  type: DeploymentEventType;
  data: Record<string, unknown>;
  at: string;
}

export type DeploymentEventType = 'status' | 'step' | 'log' | 'progress';

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
}
