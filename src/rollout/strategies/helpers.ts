/** Decision building blocks every strategy shares: weights, starting the target, pausing, ending. */
import type { Decision, Phase, PauseInfo, RolloutObservation, RolloutState, Weights } from './types.js';
import { sameWeights, split, unservedRevision, weightOf } from './weights.js';

export function act(state: RolloutState, action: Decision['action']): Decision {
  return { state, action };
}

/**
 * Ask the router for `wanted` unless it already serves it. Never sends traffic to a revision with no
 * healthy replica: that would only serve errors, so the decision waits for that revision instead.
 */
export function setWeights(state: RolloutState, observed: RolloutObservation, wanted: Weights, reason: string): Decision | undefined {
  if (sameWeights(observed.appliedWeights, wanted)) return undefined;
  const unserved = unservedRevision(wanted, [observed.target, observed.stable]);
  if (unserved !== undefined) return act(state, { kind: 'await_healthy', revisionId: unserved });
  const trafficMoved = state.trafficMoved || weightOf(wanted, state.targetId) > 0;
  return act({ ...state, trafficMoved }, { kind: 'set_weights', weights: wanted, reason });
}

/**
 * The whole target running and healthy (immediate, blue_green, canary); undefined once it is, otherwise
 * the action that gets it there.
 */
export function ensureTargetHealthy(state: RolloutState, observed: RolloutObservation): Decision | undefined {
  const { target } = observed;
  if (target.desiredReplicas === 0) {
    return failOrRollback(state, observed, 'replicas is 0: a revision with no replicas cannot serve; set replicas to 1 or more');
  }
  if (target.startedReplicas < target.desiredReplicas) {
    return act(state, { kind: 'start_replicas', revisionId: target.revisionId, count: target.desiredReplicas - target.startedReplicas });
  }
  if (target.healthyReplicas < target.desiredReplicas) return act(state, { kind: 'await_healthy', revisionId: target.revisionId });
  return undefined;
}

/** Before any traffic reached the target nothing needs undoing: fail. After, undo: roll back. */
export function failOrRollback(state: RolloutState, observed: RolloutObservation, reason: string): Decision {
  return state.trafficMoved ? beginRollback(state, observed, reason) : failNow(state, reason);
}

export function failNow(state: RolloutState, reason: string): Decision {
  const result = { kind: 'fail' as const, reason };
  return act({ ...state, phase: 'failed', analysis: undefined, pause: undefined, result }, result);
}

/** Stable to 100% first (so the end state is visible and checked), then the rollback itself. */
export function beginRollback(state: RolloutState, observed: RolloutObservation, reason: string, figures?: Record<string, unknown>): Decision {
  // A first deploy has nothing to go back to.
  if (state.stableId === undefined) return failNow(state, reason);
  const next: RolloutState = { ...state, phase: 'rolling_back', pause: undefined, rollback: { reason, ...(figures ? { figures } : {}) } };
  return continueRollback(next, observed);
}

export function continueRollback(state: RolloutState, observed: RolloutObservation): Decision {
  const rollback = state.rollback ?? { reason: 'rolled back' };
  const stable = observed.stable;
  const wanted = split(state.targetId, state.stableId, 0);
  // With no healthy stable replica, the controller's rollback restarts it; weights to it now would serve nothing.
  if (stable && stable.healthyReplicas > 0 && !sameWeights(observed.appliedWeights, wanted)) {
    return act(state, { kind: 'set_weights', weights: wanted, reason: `rollback: ${rollback.reason}` });
  }
  const result = { kind: 'rollback' as const, reason: rollback.reason, ...(rollback.figures ? { figures: rollback.figures } : {}) };
  return act({ ...state, phase: 'rolled_back', analysis: undefined, result }, result);
}

/** Enter a pause: the `pause` action (an alert) once, then `wait` until a person promotes or aborts. */
export function enterPause(
  state: RolloutState,
  observed: RolloutObservation,
  pause: { kind: PauseInfo['kind']; reason: string; resume: Phase; skipStep?: boolean },
): Decision {
  const info: PauseInfo = { kind: pause.kind, reason: pause.reason, since: observed.now, announced: true, resume: pause.resume, skipStep: pause.skipStep ?? false };
  return act({ ...state, phase: 'paused', pause: info }, { kind: 'pause', reason: pause.reason });
}

/** Keep the old revision warm (out of traffic, running), then complete. */
export function finish(state: RolloutState, observed: RolloutObservation, summary: string, forMs?: number): Decision {
  if (state.stableId !== undefined && !state.keptWarm) {
    return act(
      { ...state, phase: 'finishing', keptWarm: true },
      { kind: 'keep_warm', revisionId: state.stableId, ...(forMs !== undefined ? { forMs } : {}) },
    );
  }
  const result = { kind: 'complete' as const, summary };
  return act({ ...state, phase: 'completed', targetWeight: 100, analysis: undefined, result }, result);
}

/** All traffic to the target in one step; undefined once the router serves exactly that. */
export function promoteAll(state: RolloutState, observed: RolloutObservation, reason: string): Decision | undefined {
  const decision = setWeights({ ...state, phase: 'promoting', targetWeight: 100 }, observed, split(state.targetId, undefined, 100), reason);
  return decision;
}
