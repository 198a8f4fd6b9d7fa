/**
 * Reading analysis verdicts: failures roll back (after `failureLimit` of them), inconclusive verdicts
 * hold the rollout where it is and, when they last, pause it with an alert. Only a pass lets steps advance.
 * Inconclusive for lack of data and inconclusive because a metric source failed have separate budgets:
 * each kind of verdict ends the other's run, so an outage does not eat into the data budget or the reverse.
 */
import { formatDuration } from '../../common/units.js';
import { act, beginRollback, enterPause } from './helpers.js';
import type { AnalysisRun, Decision, RolloutAction, RolloutObservation, RolloutState } from './types.js';

/** Take the observed verdict into the state; a decision when it ends (rollback) or pauses the rollout. */
export function judgeVerdict(state: RolloutState, observed: RolloutObservation): { state: RolloutState; decision?: Decision } {
  const run = state.analysis;
  const verdict = observed.analysis;
  let next = state;
  const fresh =
    run !== undefined &&
    verdict !== undefined &&
    (verdict.at === undefined || (verdict.at >= run.startedAt && verdict.at !== state.verdictSeenAt));
  if (fresh) {
    const at = verdict.at ?? observed.now;
    // A pass on fewer requests than asked for proves nothing yet.
    const tooFew = verdict.outcome === 'pass' && verdict.requests !== undefined && verdict.requests < run.minRequests;
    const outcome = tooFew ? 'inconclusive' : verdict.outcome;
    const reason = tooFew ? `only ${verdict.requests} of ${run.minRequests} requests so far` : verdict.reason;
    const providerError = outcome === 'inconclusive' && verdict.providerError === true;
    const failures = state.failures + (outcome === 'fail' ? 1 : 0);
    const inconclusive =
      outcome === 'inconclusive' && !providerError ? { count: state.inconclusive.count + 1, since: state.inconclusive.since ?? at } : { count: 0 };
    const providerErrors = providerError
      ? { count: state.providerErrors.count + 1, since: state.providerErrors.since ?? at, reason }
      : { count: 0 };
    const lastVerdict = { outcome, reason, at, ...(verdict.figures ? { figures: verdict.figures } : {}), ...(providerError ? { providerError: true as const } : {}) };
    next = { ...state, failures, inconclusive, providerErrors, ...(verdict.at !== undefined ? { verdictSeenAt: verdict.at } : {}), lastVerdict };
    if (outcome === 'fail' && failures >= state.limits.failureLimit) {
      return { state: next, decision: beginRollback(next, observed, `analysis failed: ${reason}`, verdict.figures) };
    }
  }
  if (next.phase === 'paused') return { state: next };
  const sourceDown = next.providerErrors.since;
  if (next.lastVerdict?.providerError && sourceDown !== undefined && observed.now - sourceDown > next.limits.providerErrorSpanMs) {
    // Not a rollback: a monitoring outage is no evidence against the release.
    const reason =
      `a metric source has been failing for ${formatDuration(observed.now - sourceDown)} (${next.providerErrors.count} verdicts, budget ${formatDuration(next.limits.providerErrorSpanMs)}): ` +
      `${next.lastVerdict.reason}; the release is held, not judged: promote to go on once the source is back, or abort`;
    return { state: next, decision: enterPause(next, observed, { kind: 'alert', reason, resume: next.phase }) };
  }
  const since = next.inconclusive.since;
  const lasting =
    next.lastVerdict?.outcome === 'inconclusive' &&
    !next.lastVerdict.providerError &&
    since !== undefined &&
    next.inconclusive.count >= next.limits.inconclusiveLimit &&
    observed.now - since > next.limits.inconclusiveSpanMs;
  if (lasting) {
    const reason = `analysis inconclusive for ${formatDuration(observed.now - since)} (${next.inconclusive.count} verdicts): ${next.lastVerdict?.reason}; promote to go on or abort`;
    return { state: next, decision: enterPause(next, observed, { kind: 'alert', reason, resume: next.phase }) };
  }
  return { state: next };
}

/** 'open' unless the analysis running has said something other than pass: then nothing advances. */
export function analysisGate(state: RolloutState): 'open' | 'hold' {
  if (state.analysis === undefined || state.lastVerdict === undefined) return 'open';
  return state.lastVerdict.outcome === 'pass' ? 'open' : 'hold';
}

export function holdReason(state: RolloutState): string {
  const outcome = state.lastVerdict?.providerError ? 'inconclusive, a metric source failing' : (state.lastVerdict?.outcome ?? 'pending');
  return `holding at ${state.targetWeight}%: analysis ${outcome} (${state.lastVerdict?.reason ?? 'no verdict yet'})`;
}

/** When a hold turns into an alert pause if nothing changes (for a timed wait), or undefined. */
export function alertDueAt(state: RolloutState): number | undefined {
  const due = [
    state.inconclusive.since === undefined ? undefined : state.inconclusive.since + state.limits.inconclusiveSpanMs + 1,
    state.providerErrors.since === undefined ? undefined : state.providerErrors.since + state.limits.providerErrorSpanMs + 1,
  ].filter((at): at is number => at !== undefined);
  return due.length === 0 ? undefined : Math.min(...due);
}

/** Start (or replace) the analysis the controller runs; verdicts of an earlier run no longer count. */
export function startAnalysis(state: RolloutState, run: Omit<AnalysisRun, 'startedAt'>, now: number): Decision {
  const analysis: AnalysisRun = { ...run, startedAt: now };
  const action: RolloutAction = {
    kind: 'start_analysis',
    checks: run.checks,
    intervalMs: run.intervalMs,
    minRequests: run.minRequests,
    ...(run.compareWith !== undefined ? { compareWith: run.compareWith } : {}),
  };
  return act({ ...state, analysis, lastVerdict: undefined, inconclusive: { count: 0 }, providerErrors: { count: 0 } }, action);
}

export function stopAnalysis(state: RolloutState): Decision {
  return act({ ...state, analysis: undefined, lastVerdict: undefined, inconclusive: { count: 0 }, providerErrors: { count: 0 } }, { kind: 'stop_analysis' });
}
