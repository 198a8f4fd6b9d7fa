/**
 * Health as a pure state machine over probe results: a replica becomes healthy after `healthyThreshold`
 * consecutive passes and, once healthy, unhealthy after `unhealthyThreshold` consecutive failures.
 * A replica that never passed stays 'starting' (why it never passed is the caller's to explain).
 */
export type HealthPhase = 'starting' | 'healthy' | 'unhealthy';

export interface HealthState {
  phase: HealthPhase;
  /** Consecutive passes since the last failure. */
  passes: number;
  /** Consecutive failures since the last pass. */
  failures: number;
}

export interface HealthThresholds {
  healthyThreshold: number;
  unhealthyThreshold: number;
}

export function initialHealth(): HealthState {
  return { phase: 'starting', passes: 0, failures: 0 };
}

export function nextHealth(state: HealthState, passed: boolean, thresholds: HealthThresholds): HealthState {
  const passes = passed ? state.passes + 1 : 0;
  const failures = passed ? 0 : state.failures + 1;
  let phase = state.phase;
  if (passed && phase !== 'healthy' && passes >= thresholds.healthyThreshold) phase = 'healthy';
  if (!passed && phase === 'healthy' && failures >= thresholds.unhealthyThreshold) phase = 'unhealthy';
  return { phase, passes, failures };
}
