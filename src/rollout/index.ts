export { decideImmediate } from './immediate.js';
export type { RolloutAction, RolloutObservation } from './immediate.js';
export { composeRouteTable, normaliseWeights, serviceHost, serviceUrl } from './route-table.js';
export type { LiveService, ReplicaEndpoint } from './route-table.js';
