/** What `maestro rollout status` shows of a rollout's state. */
import type { Strategy } from '../../manifest/index.js';
import type { RolloutState, StateDescription } from './types.js';

export function describeState(strategy: Strategy, state: RolloutState): StateDescription {
  const base = { phase: state.phase, targetWeight: state.targetWeight };
  const steps = strategy.type === 'canary' ? { step: Math.min(state.step + 1, strategy.steps.length), steps: strategy.steps.length } : {};
  return { ...base, ...steps, detail: detail(state) };
}

function detail(state: RolloutState): string {
  if (state.result?.kind === 'complete') return state.result.summary;
  if (state.result) return state.result.reason;
  if (state.phase === 'rolling_back') return `rolling back: ${state.rollback?.reason ?? ''}`;
  if (state.phase === 'paused') return `paused: ${state.pause?.reason ?? ''}`;
  const verdict = state.analysis && state.lastVerdict ? `; analysis ${state.lastVerdict.outcome}: ${state.lastVerdict.reason}` : state.analysis ? '; analysis running' : '';
  const failures = state.failures > 0 ? `; ${state.failures} failed check(s) of ${state.limits.failureLimit} allowed` : '';
  return `${state.phase} ${state.targetId} at ${state.targetWeight}%${verdict}${failures}`;
}
