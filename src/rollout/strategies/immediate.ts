/** Immediate: start the whole target, wait until healthy, all traffic at once, old revision kept warm. */
import { act, ensureTargetHealthy, finish, promoteAll } from './helpers.js';
import type { Decision, RolloutObservation, RolloutState } from './types.js';

export function decideImmediate(state: RolloutState, observed: RolloutObservation, forMs?: number): Decision {
  if (state.phase === 'starting' || state.phase === 'promoting') {
    const starting = ensureTargetHealthy(state, observed);
    if (starting) return starting;
    const promoting = promoteAll(state, observed, 'the new revision is healthy: all traffic to it');
    if (promoting) return promoting;
  }
  if (state.phase === 'finishing' || state.phase === 'starting' || state.phase === 'promoting') {
    return finish(state, observed, `${state.targetId} serves all traffic`, forMs);
  }
  return act(state, { kind: 'wait', reason: `nothing to do in phase ${state.phase}` });
}
