/**
 * Canary: the whole target starts with no traffic, a background analysis compares it with the stable
 * revision, and the steps run in order: weight (never lowered before promotion), pause (timed, or until a
 * promote), analysis (until it passes). Then 100% to the target, a watch window with the analysis still
 * running, and the old revision kept warm.
 */
import { parseDuration } from '../../common/units.js';
import type { CanaryStep, Strategy } from '../../manifest/index.js';
import { alertDueAt, analysisGate, holdReason, startAnalysis, stopAnalysis } from './analysis.js';
import { passGates } from './gates.js';
import { act, enterPause, ensureTargetHealthy, finish, promoteAll, setWeights } from './helpers.js';
import type { AnalysisRun, Decision, RolloutObservation, RolloutState } from './types.js';
import { sameWeights, split, weightOf } from './weights.js';

type Canary = Extract<Strategy, { type: 'canary' }>;
type StepAnalysis = Extract<CanaryStep, { analysis: unknown }>['analysis'];

function ms(text: string | undefined, fallback: number): number {
  return text === undefined ? fallback : (parseDuration(text) ?? fallback);
}

function backgroundRun(strategy: Canary, stableId: string | undefined): Omit<AnalysisRun, 'startedAt'> {
  const { analysis } = strategy;
  return {
    purpose: 'background',
    checks: analysis.checks,
    intervalMs: ms(analysis.interval, 1000),
    minRequests: analysis.min_requests,
    ...(stableId !== undefined ? { compareWith: stableId } : {}),
  };
}

function stepRun(strategy: Canary, step: StepAnalysis, stableId: string | undefined): Omit<AnalysisRun, 'startedAt'> {
  const background = backgroundRun(strategy, stableId);
  return {
    ...background,
    purpose: 'step',
    checks: step.checks ?? background.checks,
    intervalMs: ms(step.interval, background.intervalMs),
    minRequests: step.min_requests ?? background.minRequests,
  };
}

function allTraffic(state: RolloutState, observed: RolloutObservation): boolean {
  return sameWeights(observed.appliedWeights, split(state.targetId, undefined, 100));
}

function promotionMoment(state: RolloutState, observed: RolloutObservation) {
  return { stage: 'before_promotion' as const, currentWeight: weightOf(observed.appliedWeights, state.targetId), nextWeight: 100 };
}

function advance(state: RolloutState, now: number): RolloutState {
  return { ...state, step: state.step + 1, stepStartedAt: now };
}

/** Holding: nothing advances until the analysis passes; wake up in time for the inconclusive or provider-error alert. */
function hold(state: RolloutState, now: number): Decision {
  const alertAt = alertDueAt(state);
  const timed = alertAt !== undefined && alertAt > now ? { untilMs: alertAt } : {};
  return act(state, { kind: 'wait', ...timed, reason: holdReason(state) });
}

export function decideCanary(strategy: Canary, state: RolloutState, observed: RolloutObservation): Decision {
  const { now } = observed;
  const steps = strategy.steps;
  const summary = `${state.targetId} serves all traffic after ${steps.length} canary steps`;
  if (state.phase === 'finishing') return finish(state, observed, summary);

  const starting = ensureTargetHealthy(state, observed);
  if (starting) return starting;
  let s: RolloutState = state.phase === 'starting' ? { ...state, phase: 'stepping', stepStartedAt: now } : state;
  if (s.analysis === undefined) return startAnalysis(s, backgroundRun(strategy, s.stableId), now);

  if (s.phase === 'stepping' && observed.requests.fullPromote) {
    // A person's `promote --full`: every remaining step (and any hold) skipped; failing analysis still rolls back,
    // and the gates before promotion are still asked: once they answer, promotion goes on as after the last step.
    s = { ...s, step: steps.length, consumedRequests: { ...s.consumedRequests, fullPromote: true } };
    const gated = !allTraffic(s, observed) && passGates(strategy, { ...s, phase: 'promoting' }, observed, promotionMoment(s, observed));
    if (gated) return gated;
    const promoted = promoteAll(s, observed, 'maestro promote --full: all traffic to the new revision');
    if (promoted) return promoted;
    s = { ...s, phase: 'promoting' };
  }

  while (s.phase === 'stepping' && s.step < steps.length) {
    const step = steps[s.step]!;
    const label = `canary step ${s.step + 1}/${steps.length}`;
    if (analysisGate(s) === 'hold') return hold(s, now);
    if ('weight' in step) {
      const weight = Math.max(s.targetWeight, step.weight);
      const wanted = split(s.targetId, s.stableId, weight);
      const current = weightOf(observed.appliedWeights, s.targetId);
      if (weight > current && !sameWeights(observed.appliedWeights, wanted)) {
        const gated = passGates(strategy, s, observed, { stage: 'before_weight_increase', currentWeight: current, nextWeight: weight });
        if (gated) return gated;
      }
      const moved = setWeights({ ...s, targetWeight: weight }, observed, wanted, `${label}: ${weight}% to the new revision`);
      if (moved) return moved;
      s = advance({ ...s, targetWeight: weight }, now);
    } else if ('pause' in step) {
      const duration = step.pause.duration === undefined ? undefined : ms(step.pause.duration, 0);
      if (observed.requests.promote) {
        s = advance({ ...s, consumedRequests: { ...s.consumedRequests, promote: true } }, now);
      } else if (duration === undefined) {
        const reason = `${label}: waiting for maestro promote at ${s.targetWeight}%`;
        return enterPause(s, observed, { kind: 'manual', reason, resume: 'stepping', skipStep: true });
      } else if (now < s.stepStartedAt + duration) {
        return act(s, { kind: 'wait', untilMs: s.stepStartedAt + duration, reason: `${label}: pause at ${s.targetWeight}%` });
      } else {
        s = advance(s, now);
      }
    } else {
      const run = stepRun(strategy, step.analysis, s.stableId);
      if (s.analysis?.purpose !== 'step' || s.analysis.startedAt < s.stepStartedAt) return startAnalysis(s, run, now);
      if (s.lastVerdict?.outcome !== 'pass') return act(s, { kind: 'wait', reason: `${label}: analysis running, waiting for a pass` });
      const until = s.analysis.startedAt + ms(step.analysis.duration, 0);
      if (now < until) return act(s, { kind: 'wait', untilMs: until, reason: `${label}: analysis passing, runs until its duration` });
      // Passed: the background analysis watches again from the next step on.
      return startAnalysis(advance(s, now), backgroundRun(strategy, s.stableId), now);
    }
  }

  if (s.phase === 'stepping') s = { ...s, phase: 'promoting' };
  if (!allTraffic(s, observed)) {
    if (analysisGate(s) === 'hold') return hold(s, now);
    const gated = passGates(strategy, s, observed, promotionMoment(s, observed));
    if (gated) return gated;
    const promoted = promoteAll(s, observed, 'canary steps done: all traffic to the new revision');
    if (promoted) return promoted;
  }
  if (s.analysis?.purpose !== 'background') return startAnalysis(s, backgroundRun(strategy, s.stableId), now);

  s = { ...s, phase: 'watching', targetWeight: 100, watchStartedAt: s.watchStartedAt ?? now };
  const watchEnds = s.watchStartedAt! + ms(strategy.watch, 60_000);
  if (now < watchEnds) return act(s, { kind: 'wait', untilMs: watchEnds, reason: 'watching the new revision with all traffic' });
  if (analysisGate(s) === 'hold') return hold(s, now);
  const stopped = stopAnalysis(s);
  return { state: { ...stopped.state, phase: 'finishing' }, action: stopped.action };
}
