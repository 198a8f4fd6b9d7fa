export { composeRouteTable, normaliseWeights, previewHost, replicaUpstream, serviceHost, serviceUrl } from './route-table.js';
export type { LiveService, ReplicaEndpoint } from './route-table.js';
export * from './analysis/index.js';
// The four strategies behind one pure `decide`; `strategies.*` carries the exact names (RolloutAction, RolloutObservation...).
export * as strategies from './strategies/index.js';
export {
  decide as decideRollout,
  initialState as initialRolloutState,
  describeState as describeRolloutState,
  DEFAULT_LIMITS as DEFAULT_ROLLOUT_LIMITS,
} from './strategies/index.js';
export type {
  RolloutState,
  RolloutLimits,
  RolloutAction as StrategyAction,
  RolloutObservation as StrategyObservation,
  RevisionView,
  Verdict,
  Outcome as VerdictOutcome,
} from './strategies/index.js';
