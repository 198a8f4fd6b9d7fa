/**
 * One decision of a rollout, whatever the strategy: abort, rollback in progress, release command,
 * analysis verdicts, the progress deadline and pauses are handled here alike; the rest is the strategy's.
 * Pure: the controller's clock arrives in the observation, nothing is read or written.
 */
import { formatDuration, parseDuration } from '../../common/units.js';
import type { Strategy } from '../../manifest/index.js';
import { analysisGate, judgeVerdict } from './analysis.js';
import { decideBlueGreen } from './blue-green.js';
import { decideCanary } from './canary.js';
import { passGates, shownWebhook, takeGateResult } from './gates.js';
import { act, beginRollback, continueRollback, failNow, failOrRollback } from './helpers.js';
import { decideImmediate } from './immediate.js';
import { decideRolling } from './rolling.js';
import type { Decision, RolloutLimits, RolloutObservation, RolloutState } from './types.js';

/** A metric source may fail for 2 minutes (a Prometheus restart, a network blip) before a person is alerted. */
export const DEFAULT_LIMITS: RolloutLimits = { failureLimit: 1, inconclusiveLimit: 3, inconclusiveSpanMs: 30_000, providerErrorSpanMs: 120_000 };

/** Limits the manifest sets for this strategy. */
function strategyLimits(strategy: Strategy): Partial<RolloutLimits> {
  if (strategy.type !== 'canary' || strategy.analysis.provider_error_budget === undefined) return {};
  const budget = parseDuration(strategy.analysis.provider_error_budget);
  return budget === undefined ? {} : { providerErrorSpanMs: budget };
}

const NOTHING_CONSUMED = { promote: false, fullPromote: false, abort: false };

export function initialState(strategy: Strategy, observed: RolloutObservation, limits: Partial<RolloutLimits> = {}): RolloutState {
  return {
    strategy: strategy.type,
    phase: 'releasing',
    startedAt: observed.now,
    deadlineFrom: observed.now,
    targetId: observed.target.revisionId,
    ...(observed.stable && observed.stable.revisionId !== observed.target.revisionId ? { stableId: observed.stable.revisionId } : {}),
    releaseRequested: false,
    trafficMoved: false,
    targetWeight: 0,
    step: 0,
    stepStartedAt: observed.now,
    failures: 0,
    inconclusive: { count: 0 },
    providerErrors: { count: 0 },
    gates: [],
    keptWarm: false,
    consumedRequests: { ...NOTHING_CONSUMED },
    limits: { ...DEFAULT_LIMITS, ...strategyLimits(strategy), ...limits },
  };
}

export function decide(strategy: Strategy, previous: RolloutState, observed: RolloutObservation): Decision {
  // A state saved before gates and provider errors were tracked lacks their fields.
  let state: RolloutState = {
    ...previous,
    providerErrors: previous.providerErrors ?? { count: 0 },
    gates: previous.gates ?? [],
    limits: { ...DEFAULT_LIMITS, ...previous.limits },
    consumedRequests: { ...NOTHING_CONSUMED },
  };
  if (state.result) return act(state, state.result);

  if (observed.requests.abort) {
    state = { ...state, consumedRequests: { ...state.consumedRequests, abort: true } };
    if (state.phase !== 'rolling_back') return beginRollback(state, observed, 'aborted with maestro abort');
  }
  if (state.phase === 'rolling_back') return continueRollback(state, observed);

  const gated = takeGateResult(state, observed);
  if (gated.decision) return gated.decision;
  state = gated.state;

  if (state.phase === 'releasing') {
    // The release command runs once, before any replica of the new code starts; if it fails nothing moves.
    if (observed.releaseCommand === 'failed') return failNow(state, observed.releaseFailure ?? 'the release command failed');
    const stuck = startStuck(state, observed);
    if (stuck) return stuck;
    // Gates come first: a refusal leaves everything as it was, the release command included.
    const before = passGates(strategy, state, observed, { stage: 'before_rollout', currentWeight: 0, nextWeight: 0 });
    if (before) return before;
    if (observed.releaseCommand === 'pending') {
      if (state.releaseRequested) return act(state, { kind: 'wait', reason: 'the release command is running' });
      return act({ ...state, releaseRequested: true }, { kind: 'run_release', revisionId: state.targetId });
    }
    state = { ...state, phase: state.stableId !== undefined && strategy.type === 'rolling' ? 'replacing' : 'starting' };
  }

  if (observed.target.failure) return failOrRollback(state, observed, observed.target.failure);

  const judged = judgeVerdict(state, observed);
  if (judged.decision) return judged.decision;
  state = judged.state;

  const overdue = overdueDecision(state, observed);
  if (overdue) return overdue;

  if (state.phase === 'paused') {
    const resumed = resume(state, observed);
    if (!resumed) return act(state, { kind: 'wait', reason: `paused: ${state.pause?.reason ?? 'waiting for a person'}` });
    // The promote was spent on this pause; `--full` stays visible so a canary skips its remaining steps.
    return decideByStrategy(strategy, resumed, { ...observed, requests: { ...observed.requests, promote: false } });
  }
  return decideByStrategy(strategy, state, observed);
}

function decideByStrategy(strategy: Strategy, state: RolloutState, observed: RolloutObservation): Decision {
  // Without a stable revision there is nothing to split traffic with, compare against or keep warm.
  if (state.stableId === undefined) return decideImmediate(state.phase === 'replacing' ? { ...state, phase: 'starting' } : state, observed);
  switch (strategy.type) {
    case 'immediate':
      return decideImmediate(state, observed);
    case 'rolling':
      return decideRolling(strategy, state, observed);
    case 'blue_green':
      return decideBlueGreen(strategy, state, observed);
    case 'canary':
      return decideCanary(strategy, state, observed);
  }
}

/**
 * Past the progress deadline still waiting for a gate or the release command: nothing has started, so
 * there is nothing to hold; the deployment fails.
 */
function startStuck(state: RolloutState, observed: RolloutObservation): Decision | undefined {
  if (observed.now - state.deadlineFrom <= observed.progressDeadlineMs) return undefined;
  const releaseRunning = state.releaseRequested && observed.releaseCommand === 'pending';
  if (!state.pendingGate && !releaseRunning) return undefined;
  const waitingOn = state.pendingGate ? `gate ${shownWebhook(state.pendingGate.webhook)} gave no answer` : 'the release command did not finish';
  const deadline = formatDuration(observed.progressDeadlineMs);
  return failNow(state, `no progress within the ${deadline} deadline before the rollout began (${waitingOn}); nothing was changed`);
}

/** Past the progress deadline (and not waiting on a person's own pause): roll back a doubtful release, else alert. */
function overdueDecision(state: RolloutState, observed: RolloutObservation): Decision | undefined {
  if (state.phase === 'paused' && state.pause?.kind === 'manual') return undefined;
  const elapsed = observed.now - state.deadlineFrom;
  if (elapsed <= observed.progressDeadlineMs) return undefined;
  const verdict = state.analysis ? state.lastVerdict : undefined;
  const deadline = formatDuration(observed.progressDeadlineMs);
  // A metric source that is down says nothing about the release: that holds and alerts, it never rolls back.
  if (verdict && verdict.outcome !== 'pass' && !verdict.providerError) {
    return beginRollback(state, observed, `no progress within ${deadline} while analysis was ${verdict.outcome}: ${verdict.reason}`, verdict.figures);
  }
  if (state.phase === 'paused') return undefined;
  const reason = verdict?.providerError
    ? `no progress within the ${deadline} deadline while a metric source was failing: ${verdict.reason}; promote to go on or abort`
    : `no progress within the ${deadline} deadline (stuck in ${state.phase}); promote to go on or abort`;
  return act(
    { ...state, phase: 'paused', pause: { kind: 'alert', reason, since: observed.now, announced: true, resume: state.phase, skipStep: false } },
    { kind: 'pause', reason },
  );
}

/** A person's promote ends a pause: a manual one moves on, an alert one resumes with a fresh deadline. */
function resume(state: RolloutState, observed: RolloutObservation): RolloutState | undefined {
  const pause = state.pause;
  const { promote, fullPromote } = observed.requests;
  if (!pause || !(promote || fullPromote)) return undefined;
  // Inconclusive or failing analysis never lets a step pass: the pause (and the promote) keep waiting for a pass.
  if (pause.skipStep && !fullPromote && analysisGate(state) === 'hold') return undefined;
  const now = observed.now;
  const consumedRequests = { ...state.consumedRequests, promote, fullPromote };
  if (pause.kind === 'alert') {
    // The person looked and chose to go on: the doubtful verdicts so far no longer hold the rollout.
    return {
      ...state,
      phase: pause.resume,
      pause: undefined,
      deadlineFrom: now,
      lastVerdict: undefined,
      inconclusive: { count: 0 },
      providerErrors: { count: 0 },
      consumedRequests,
    };
  }
  const deadlineFrom = state.deadlineFrom + (now - pause.since);
  const step = pause.skipStep ? state.step + 1 : state.step;
  return { ...state, phase: pause.resume, pause: undefined, deadlineFrom, step, stepStartedAt: now, consumedRequests };
}
