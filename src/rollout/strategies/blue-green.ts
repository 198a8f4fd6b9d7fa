/**
 * Blue/green: the whole target starts beside the stable revision with no traffic (the controller serves it
 * at a preview address); a promote, or `auto_promote_after` once healthy, moves all traffic in one step;
 * the old revision then stays warm for `scale_down_delay`.
 */
import { parseDuration } from '../../common/units.js';
import type { Strategy } from '../../manifest/index.js';
import { passGates } from './gates.js';
import { act, enterPause, ensureTargetHealthy } from './helpers.js';
import { decideImmediate } from './immediate.js';
import type { Decision, RolloutObservation, RolloutState } from './types.js';
import { sameWeights, split, weightOf } from './weights.js';

type BlueGreen = Extract<Strategy, { type: 'blue_green' }>;

export function decideBlueGreen(strategy: BlueGreen, state: RolloutState, observed: RolloutObservation): Decision {
  const scaleDownMs = parseDuration(strategy.scale_down_delay) ?? 30_000;
  if (state.phase === 'starting' || state.phase === 'preview') {
    const starting = ensureTargetHealthy(state, observed);
    if (starting) return starting;
    const previewing: RolloutState = { ...state, phase: 'preview', healthyAt: state.healthyAt ?? observed.now };
    const { promote, fullPromote } = observed.requests;
    if (promote || fullPromote) {
      const consumed = { ...state.consumedRequests, promote, fullPromote };
      return switchAfterGates(strategy, { ...previewing, phase: 'promoting', consumedRequests: consumed }, observed, scaleDownMs);
    }
    const autoMs = strategy.auto_promote_after === undefined ? undefined : parseDuration(strategy.auto_promote_after);
    if (autoMs === undefined) {
      return enterPause(previewing, observed, { kind: 'manual', reason: 'waiting for maestro promote', resume: 'promoting' });
    }
    const dueAt = previewing.healthyAt! + autoMs;
    if (observed.now < dueAt) return act(previewing, { kind: 'wait', untilMs: dueAt, reason: 'previewing until auto promote' });
    return switchAfterGates(strategy, { ...previewing, phase: 'promoting' }, observed, scaleDownMs);
  }
  if (state.phase === 'promoting') return switchAfterGates(strategy, state, observed, scaleDownMs);
  return decideImmediate(state, observed, scaleDownMs);
}

/** The switch, once the gates before promotion (if any) have passed. */
function switchAfterGates(strategy: BlueGreen, state: RolloutState, observed: RolloutObservation, scaleDownMs: number): Decision {
  if (!sameWeights(observed.appliedWeights, split(state.targetId, undefined, 100))) {
    const starting = ensureTargetHealthy(state, observed);
    if (starting) return starting;
    const moment = { stage: 'before_promotion' as const, currentWeight: weightOf(observed.appliedWeights, state.targetId), nextWeight: 100 };
    const gated = passGates(strategy, state, observed, moment);
    if (gated) return gated;
  }
  return decideImmediate(state, observed, scaleDownMs);
}
