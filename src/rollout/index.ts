export { decideImmediate } from './immediate.js';
export type { RolloutAction, RolloutObservation } from './immediate.js';
export { composeRouteTable, normaliseWeights, previewHost, serviceHost, serviceUrl } from './route-table.js';
export type { LiveService, ReplicaEndpoint } from './route-table.js';
export * from './analysis/index.js';
