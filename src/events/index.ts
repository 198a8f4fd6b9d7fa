export { EventBus } from './bus.js';
export type { DeploymentEvent, DeploymentEventType } from './bus.js';
