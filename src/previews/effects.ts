/**
 * What the preview manager asks of the running system: deployments, processes and the router. The
 * control plane provides these (plane-effects.ts); tests record them. Files are the manager's own
 * business (leftovers.ts), since a temporary folder stands in for the data directory.
 */
export interface PreviewEffects {
  /**
   * Ends the environment's deployments in progress (queued and running builds cancelled, rollouts
   * aborted, the rest ended as cancelled) and resolves once none is; rejects if one will not end.
   */
  cancelDeployments(environmentId: string, reason: string): Promise<void>;
  /** Stops every replica of the revision now, without a drain (nothing routes to it any more), and forgets it as warm. */
  stopRevision(revisionId: string): Promise<void>;
  /** The replicas running on this machine. */
  replicas(): ReplicaRef[];
  /** Stops one replica that belongs to nothing. */
  stopReplica(replicaId: string): Promise<void>;
  /** Pushes a route table composed from the store, and resolves once the router has it. */
  pushRoutes(): Promise<void>;
  /** The routes the router serves now. */
  routes(): Promise<RoutedHost[]>;
}

export interface ReplicaRef {
  id: string;
  revisionId: string;
  pid?: number;
}

export interface RoutedHost {
  host: string;
  project: string;
  service: string;
  environment: string;
}

/** The parts of the data directory that hold an environment's files (see server/paths.ts). */
export interface PreviewFolders {
  /** `<id>/` per build. */
  work: string;
  /** `<id>/` per revision, its unpacked artifact. */
  revisions: string;
  /** `<id>.log` per deployment. */
  deploymentLogs: string;
  /** `<replica id>.log` and its rotations `.log.1`, ... per replica; a replica id is `<revision id>-<n>`. */
  replicaLogs: string;
}
