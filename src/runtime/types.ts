/** The agent's vocabulary: what the control plane asks for and what it observes. */

export interface HealthSpec {
  /** HTTP path to GET; without one Maestro only checks that the port accepts connections. */
  path?: string;
  intervalMs: number;
  timeoutMs: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
}

export interface ReplicaSpec {
  /** Unique on this machine, e.g. "rev_abc-1"; also names the state and log files. */
  id: string;
  revisionId: string;
  /** The revision's unpacked artifact. */
  cwd: string;
  /** Run through `/bin/sh -c`; prefer `exec <app>` so signals reach the app itself. */
  command: string;
  /** The app's environment. The agent adds PORT; nothing else of its own environment but PATH and locale. */
  env: Record<string, string>;
  /** A port the app always listens on; without it the agent allocates a free one and passes it in PORT. */
  port?: number;
  health: HealthSpec;
  /** project/service/environment, kept in the state file for display. */
  labels?: Record<string, string>;
}

export type ReplicaState = 'starting' | 'healthy' | 'unhealthy' | 'crashed' | 'stopping' | 'stopped';

export interface ReplicaExit {
  code: number | null;
  signal: string | null;
  at: Date;
}

export interface ReplicaStatus {
  id: string;
  revisionId: string;
  /** The current process (and process group) id; absent while waiting to restart or after a crash loop. */
  pid?: number;
  port: number;
  state: ReplicaState;
  restarts: number;
  /** When the current process started. */
  startedAt: Date;
  lastExit?: ReplicaExit;
  lastError?: string;
  /** The current process was started by an earlier agent and taken over by this one. */
  adopted: boolean;
  labels: Record<string, string>;
}

export interface RestartBackoff {
  initialMs: number;
  maxMs: number;
}

export interface AgentOptions {
  stateDir: string;
  logDir: string;
  /** Rotate a replica's log when it grows past this size (default 10 MiB). */
  logMaxBytes?: number;
  /** Rotated files kept per replica (default 3). */
  logKeep?: number;
  /** Delay before restarting a crashed replica: doubles from initialMs up to maxMs (default 500 ms .. 30 s). */
  restartBackoff?: RestartBackoff;
  /** How often log sizes are checked for rotation (default 2 s). */
  logCheckIntervalMs?: number;
}
