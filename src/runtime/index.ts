/**
 * The runtime agent: runs each replica of each revision as its own process group on this machine,
 * with health checks, restarts, rotated logs and state files that let a restarted control plane
 * adopt the replicas instead of killing them.
 */
export { Agent } from './agent.js';
export type {
  AgentOptions,
  HealthSpec,
  ReplicaExit,
  ReplicaSpec,
  ReplicaState,
  ReplicaStatus,
  RestartBackoff,
} from './types.js';
export { validateReplicaSpec, buildReplicaEnv, REPLICA_ID_PATTERN } from './spec.js';
export { nextHealth, initialHealth, type HealthPhase, type HealthState, type HealthThresholds } from './health-state.js';
export { decideRestart, CRASH_LOOP_EXITS, STABLE_HEALTHY_MS, DEFAULT_BACKOFF, type RestartDecision } from './restart-policy.js';
export { probeReplica, type ProbeResult } from './probe.js';
export { isSameProcessAlive, isGroupAlive, parseProcStat, processStartTime, type ProcStat } from './processes.js';
