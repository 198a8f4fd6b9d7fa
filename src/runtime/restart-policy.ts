import type { RestartBackoff } from './types.js';

/** Exits in a row without becoming healthy in between after which the agent stops restarting. */
export const CRASH_LOOP_EXITS = 3;
/** A replica healthy this long before it exits starts its backoff again from the beginning. */
export const STABLE_HEALTHY_MS = 30_000;

export const DEFAULT_BACKOFF: RestartBackoff = { initialMs: 500, maxMs: 30_000 };

export interface ExitHistory {
  /** Exits without a healthy period in between, this one included. */
  exitsWithoutHealthy: number;
  /** How many restarts the current backoff run has already waited for. */
  backoffStep: number;
  /** How long the process had been healthy without interruption when it exited (0 if it was not). */
  healthyForMs: number;
}

export type RestartDecision =
  | { action: 'restart'; delayMs: number; nextBackoffStep: number }
  | { action: 'give_up' };

export function decideRestart(facts: ExitHistory, backoff: RestartBackoff): RestartDecision {
  if (facts.exitsWithoutHealthy >= CRASH_LOOP_EXITS) return { action: 'give_up' };
  const step = facts.healthyForMs >= STABLE_HEALTHY_MS ? 0 : facts.backoffStep;
  // Past 2^40 the product is far above any maxMs; capping the exponent keeps the arithmetic finite.
  const delayMs = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(step, 40));
  return { action: 'restart', delayMs, nextBackoffStep: step + 1 };
}
