/** What `maestro rollout status` shows of a rollout's state. */
import { formatDuration } from '../../common/units.js';
import type { Strategy } from '../../manifest/index.js';
import { momentText, shownWebhook } from './gates.js';
import type { RolloutState, StateDescription } from './types.js';

export function describeState(strategy: Strategy, state: RolloutState): StateDescription {
  const base = { phase: state.phase, targetWeight: state.targetWeight };
  const steps = strategy.type === 'canary' ? { step: Math.min(state.step + 1, strategy.steps.length), steps: strategy.steps.length } : {};
  const providerErrors = state.providerErrors ?? { count: 0 };
  const budgetMs = state.limits.providerErrorSpanMs;
  const sourceDown =
    state.analysis && providerErrors.count > 0 && providerErrors.since !== undefined
      ? { providerErrors: { count: providerErrors.count, since: new Date(providerErrors.since).toISOString(), budgetMs, reason: providerErrors.reason ?? '' } }
      : {};
  return { ...base, ...steps, detail: detail(state), gates: gates(state), ...sourceDown };
}

function gates(state: RolloutState): StateDescription['gates'] {
  const answered = (state.gates ?? []).map((record) => ({
    stage: record.stage,
    webhook: record.webhook,
    nextWeight: record.nextWeight,
    outcome: record.outcome,
    reason: `${record.reason} ${momentText(record)}`,
    at: new Date(record.at).toISOString(),
  }));
  const pending = state.pendingGate;
  if (!pending || state.result) return answered;
  return [
    ...answered,
    { stage: pending.stage, webhook: shownWebhook(pending.webhook), nextWeight: pending.nextWeight, outcome: 'pending', reason: `asked ${momentText(pending)}`, at: new Date(pending.requestedAt).toISOString() },
  ];
}

function detail(state: RolloutState): string {
  if (state.result?.kind === 'complete') return state.result.summary;
  if (state.result) return state.result.reason;
  if (state.phase === 'rolling_back') return `rolling back: ${state.rollback?.reason ?? ''}`;
  if (state.phase === 'paused') return `paused: ${state.pause?.reason ?? ''}`;
  const verdict = state.analysis && state.lastVerdict ? `; analysis ${state.lastVerdict.outcome}: ${state.lastVerdict.reason}` : state.analysis ? '; analysis running' : '';
  const failures = state.failures > 0 ? `; ${state.failures} failed check(s) of ${state.limits.failureLimit} allowed` : '';
  const down = state.analysis && state.lastVerdict?.providerError
    ? `; a metric source is failing (${state.providerErrors.count} verdicts in a row; the rollout pauses after ${formatDuration(state.limits.providerErrorSpanMs)} of it, never rolls back for it)`
    : '';
  const gate = state.pendingGate ? `; waiting for gate ${shownWebhook(state.pendingGate.webhook)} ${momentText(state.pendingGate)}` : '';
  return `${state.phase} ${state.targetId} at ${state.targetWeight}%${verdict}${failures}${down}${gate}`;
}
