/**
 * Webhook gates: before the rollout, before each traffic increase and before promotion, every gate
 * listed for that moment must answer 2xx. The strategy asks for the call (`run_gate`), the controller
 * makes it and feeds the result back; a refusal ends the rollout like a failed analysis.
 */
import { parseDuration } from '../../common/units.js';
import type { Strategy } from '../../manifest/index.js';
import { act, failNow, failOrRollback } from './helpers.js';
import type { Decision, GateRequest, GateStage, RolloutObservation, RolloutState } from './types.js';

/** Past its timeout plus this, a gate call with no result was lost (a control-plane restart): it is asked again. */
export const GATE_LOST_AFTER_MS = 5_000;
const DEFAULT_GATE_TIMEOUT_MS = 10_000;

export interface GateMoment {
  stage: GateStage;
  currentWeight: number;
  nextWeight: number;
}

/** A gate's address as shown in reasons and status: no query string, which may carry a token. */
export function shownWebhook(webhook: string): string {
  try {
    const url = new URL(webhook);
    return `${url.origin}${url.pathname}${url.search ? '?…' : ''}`;
  } catch {
    return 'the gate';
  }
}

/** How the moment reads at the end of a reason: `before raising canary weight to 50%`. */
export function momentText(moment: Pick<GateMoment, 'stage' | 'nextWeight'>): string {
  switch (moment.stage) {
    case 'before_rollout':
      return 'before the rollout';
    case 'before_weight_increase':
      return `before raising canary weight to ${moment.nextWeight}%`;
    case 'before_promotion':
      return 'before promoting to 100%';
  }
}

/** Take in the result of the gate call the rollout waits for; a refusal ends the rollout. */
export function takeGateResult(state: RolloutState, observed: RolloutObservation): { state: RolloutState; decision?: Decision } {
  const pending = state.pendingGate;
  const result = observed.gate;
  if (!pending || !result || result.id !== pending.id) return { state };
  const record = {
    gate: pending.gate,
    stage: pending.stage,
    webhook: shownWebhook(pending.webhook),
    nextWeight: pending.nextWeight,
    outcome: result.outcome,
    reason: result.reason,
    at: result.at,
  };
  const next: RolloutState = { ...state, pendingGate: undefined, gates: [...state.gates, record] };
  if (result.outcome === 'pass') return { state: next };
  const reason = `gate ${shownWebhook(pending.webhook)} ${result.reason} ${momentText(pending)}`;
  // Before the rollout nothing has started: the deployment fails and the stable revision keeps serving.
  return { state: next, decision: pending.stage === 'before_rollout' ? failNow(next, reason) : failOrRollback(next, observed, reason) };
}

/**
 * Undefined once every gate for this moment has passed; otherwise the decision that asks the next one
 * (or waits for its answer).
 */
export function passGates(strategy: Strategy, state: RolloutState, observed: RolloutObservation, moment: GateMoment): Decision | undefined {
  const gates = strategy.gates ?? [];
  for (let index = 0; index < gates.length; index += 1) {
    const gate = gates[index]!;
    if (!gate.on.includes(moment.stage)) continue;
    const same = (entry: { gate: number; stage: GateStage; nextWeight: number }) =>
      entry.gate === index && entry.stage === moment.stage && entry.nextWeight === moment.nextWeight;
    if (state.gates.some((record) => same(record) && record.outcome === 'pass')) continue;
    const pending = state.pendingGate;
    if (pending && same(pending)) {
      const lostAt = pending.requestedAt + pending.timeoutMs + GATE_LOST_AFTER_MS;
      if (observed.now < lostAt) {
        return act(state, { kind: 'wait', untilMs: lostAt, reason: `waiting for gate ${shownWebhook(pending.webhook)} ${momentText(pending)}` });
      }
    }
    const request: GateRequest = {
      id: `gate-${index}-${moment.stage}-${moment.nextWeight}-${observed.now}`,
      gate: index,
      stage: moment.stage,
      webhook: gate.webhook,
      timeoutMs: parseDuration(gate.timeout) ?? DEFAULT_GATE_TIMEOUT_MS,
      ...(gate.secret_env !== undefined ? { secretEnv: gate.secret_env } : {}),
      currentWeight: moment.currentWeight,
      nextWeight: moment.nextWeight,
    };
    return act({ ...state, pendingGate: { ...request, requestedAt: observed.now } }, { kind: 'run_gate', gate: request });
  }
  return undefined;
}
