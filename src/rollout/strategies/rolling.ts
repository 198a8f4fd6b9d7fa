/**
 * Rolling: old replicas are replaced by new ones in batches bounded by max_surge (extra replicas) and
 * max_unavailable (missing healthy replicas), each batch healthy before the next; traffic follows the
 * healthy replica counts. The last old replica is not stopped: it stays warm out of traffic for an
 * instant rollback.
 */
import type { Strategy } from '../../manifest/index.js';
import { parsePercent } from '../../manifest/index.js';
import { act, failOrRollback, finish, promoteAll, setWeights } from './helpers.js';
import type { Decision, RolloutObservation, RolloutState } from './types.js';
import { proportional, weightOf } from './weights.js';

type Rolling = Extract<Strategy, { type: 'rolling' }>;

/** Replicas a count-or-percentage stands for; percentages round up for surge and down for unavailable, like Kubernetes. */
export function resolveBudget(value: number | string, desired: number, round: 'up' | 'down'): number {
  if (typeof value === 'number') return value;
  const share = parsePercent(value) ?? 0;
  // Keep float noise (0.1 * 30 = 3.0000000000000004) from rounding a whole number up.
  const exact = Math.round(share * desired * 1e9) / 1e9;
  return round === 'up' ? Math.ceil(exact) : Math.floor(exact);
}

export function rollingBudget(strategy: Rolling, desired: number): { surge: number; unavailable: number } {
  const surge = resolveBudget(strategy.max_surge, desired, 'up');
  const unavailable = resolveBudget(strategy.max_unavailable, desired, 'down');
  // Both 0 after rounding could never progress: allow one missing replica, as Kubernetes does.
  return surge === 0 && unavailable === 0 ? { surge: 0, unavailable: 1 } : { surge, unavailable };
}

export function decideRolling(strategy: Rolling, state: RolloutState, observed: RolloutObservation): Decision {
  const { target, stable } = observed;
  const desired = target.desiredReplicas;
  if (desired === 0) return failOrRollback(state, observed, 'replicas is 0: a revision with no replicas cannot serve; set replicas to 1 or more');
  if (state.phase === 'finishing') return finish(state, observed, `${state.targetId} replaced every replica`);

  const replacing: RolloutState = { ...state, phase: 'replacing', targetWeight: weightOf(observed.appliedWeights, state.targetId) };
  const oldRunning = stable?.startedReplicas ?? 0;
  // Every new replica healthy, only the warm one left: all traffic to the new revision (no more following counts).
  if (target.startedReplicas === desired && target.healthyReplicas >= desired && oldRunning <= 1) {
    const promoting = promoteAll(replacing, observed, 'every replica replaced: all traffic to the new revision');
    if (promoting) return promoting;
    return finish({ ...replacing, phase: 'finishing' }, observed, `${state.targetId} replaced every replica`);
  }
  const follow = proportional(target, stable);
  const weighted = follow && setWeights({ ...replacing, targetWeight: weightOf(follow, state.targetId) }, observed, follow, 'traffic follows healthy replicas');
  if (weighted) return weighted;
  // Each batch healthy before the next one starts or any old replica goes.
  if (target.startedReplicas > target.healthyReplicas) return act(replacing, { kind: 'await_healthy', revisionId: target.revisionId });

  const { surge, unavailable } = rollingBudget(strategy, desired);
  // The one old replica kept warm at the end sits outside the surge budget, or surge 0 could never finish.
  const budgetedOld = oldRunning <= 1 ? 0 : oldRunning;
  const canStart = Math.min(desired + surge - (target.startedReplicas + budgetedOld), desired - target.startedReplicas);
  if (canStart > 0) return act(replacing, { kind: 'start_replicas', revisionId: target.revisionId, count: canStart });

  const available = target.healthyReplicas + (stable?.healthyReplicas ?? 0);
  const canStop = Math.min(oldRunning - 1, available - (desired - unavailable));
  if (stable && canStop > 0) return act(replacing, { kind: 'stop_replicas', revisionId: stable.revisionId, count: canStop });

  return act(replacing, { kind: 'wait', reason: `replacing replicas: ${target.healthyReplicas}/${desired} new healthy, ${oldRunning} old running` });
}
