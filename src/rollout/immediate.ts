/**
 * The immediate strategy as a pure decision: given what is observed about a rollout, the one next
 * action. The controller carries the action out, observes again and asks again, until `complete` or
 * `fail`. Nothing here starts a process or touches a socket.
 */
export interface RolloutObservation {
  target: {
    revisionId: string;
    desiredReplicas: number;
    startedReplicas: number;
    healthyReplicas: number;
    /** Set when a replica of the target cannot become healthy (crash loop, never listens...). */
    failure?: string;
  };
  /** The revision serving before this rollout, if any; `retired` once it has been handed to the warm pool. */
  stable?: { revisionId: string; retired: boolean };
  releaseCommand: 'none' | 'pending' | 'succeeded' | 'failed';
  releaseFailure?: string;
  trafficOnTarget: boolean;
}

export type RolloutAction =
  | { kind: 'run_release'; revisionId: string }
  | { kind: 'start_replicas'; revisionId: string; count: number }
  | { kind: 'await_healthy'; revisionId: string }
  | { kind: 'shift_traffic'; weights: Array<{ revisionId: string; weight: number }> }
  | { kind: 'keep_warm'; revisionId: string }
  | { kind: 'complete' }
  | { kind: 'fail'; reason: string };

export function decideImmediate(observed: RolloutObservation): RolloutAction {
  const { target } = observed;
  // The release command runs once, before any traffic can reach the new code; if it fails, nothing moves.
  if (observed.releaseCommand === 'failed') {
    return { kind: 'fail', reason: observed.releaseFailure ?? 'the release command failed' };
  }
  if (observed.releaseCommand === 'pending') return { kind: 'run_release', revisionId: target.revisionId };

  if (target.failure && !observed.trafficOnTarget) return { kind: 'fail', reason: target.failure };
  if (target.startedReplicas < target.desiredReplicas) {
    return { kind: 'start_replicas', revisionId: target.revisionId, count: target.desiredReplicas - target.startedReplicas };
  }
  // A revision with no replicas cannot take traffic: switching to it would serve nothing but 503s.
  if (target.desiredReplicas === 0) {
    return { kind: 'fail', reason: 'replicas is 0: a revision with no replicas cannot serve; set replicas to 1 or more' };
  }
  if (target.healthyReplicas < target.desiredReplicas) return { kind: 'await_healthy', revisionId: target.revisionId };

  if (!observed.trafficOnTarget) {
    return { kind: 'shift_traffic', weights: [{ revisionId: target.revisionId, weight: 100 }] };
  }
  if (observed.stable && observed.stable.revisionId !== target.revisionId && !observed.stable.retired) {
    return { kind: 'keep_warm', revisionId: observed.stable.revisionId };
  }
  return { kind: 'complete' };
}
