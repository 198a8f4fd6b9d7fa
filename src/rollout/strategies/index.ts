/** Rollout strategies as pure state machines: the controller observes, calls `decide`, does the one action. */
export { decide, initialState, DEFAULT_LIMITS } from './decide.js';
export { describeState } from './describe.js';
export { GATE_LOST_AFTER_MS, momentText, shownWebhook } from './gates.js';
export { rollingBudget } from './rolling.js';
export { proportional, sameWeights } from './weights.js';
export type {
  AnalysisRun,
  Decision,
  Gate,
  GateRecord,
  GateRequest,
  GateResult,
  GateStage,
  Outcome,
  PauseInfo,
  Phase,
  RevisionView,
  RolloutAction,
  RolloutLimits,
  RolloutObservation,
  RolloutState,
  StateDescription,
  Verdict,
  Weights,
} from './types.js';
