import type { DeploymentStatus } from './deployment-state.js';

/** The records the store hands out: plain camelCase objects, timestamps as Dates, absent values omitted. */

export interface Project {
  id: string;
  name: string;
  createdAt: Date;
  /** Pushes to this branch deploy to production; any other branch gets a preview. */
  productionBranch: string;
  /** A preview goes this long after its last push unless extended. */
  previewTtlMs: number;
  /** Live previews the project may have at once. */
  maxPreviews: number;
  /** A preview with no request for this long sleeps; absent: previews never sleep. */
  previewIdleMs?: number;
}

/** The part of a project a person sets: how it takes pushes and its previews' limits. */
export type ProjectSettings = Pick<Project, 'productionBranch' | 'previewTtlMs' | 'maxPreviews' | 'previewIdleMs'>;

/** A settings change: absent fields stay; `previewIdleMs: null` turns sleeping off. */
export interface ProjectSettingsPatch {
  productionBranch?: string;
  previewTtlMs?: number;
  maxPreviews?: number;
  previewIdleMs?: number | null;
}

export interface Service {
  id: string;
  projectId: string;
  name: string;
  createdAt: Date;
}

export interface Environment {
  id: string;
  projectId: string;
  name: string;
  createdAt: Date;
}

/** An uploaded source archive; the bytes live on disk under the data directory. */
export interface SourceRecord {
  digest: string;
  sizeBytes: number;
  createdAt: Date;
}

/** A content-addressed build output. */
export interface ArtifactRecord {
  digest: string;
  sizeBytes: number;
  path: string;
  createdAt: Date;
}

export type BuildStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export type BuildOutcome = 'succeeded' | 'failed' | 'cancelled';

export interface Build {
  id: string;
  deploymentId: string;
  sourceDigest: string;
  status: BuildStatus;
  artifactDigest?: string;
  error?: string;
  createdAt: Date;
  startedAt?: Date;
  finishedAt?: Date;
}

export interface Deployment {
  id: string;
  projectId: string;
  serviceId: string;
  environmentId: string;
  sourceDigest: string;
  commit?: string;
  message?: string;
  /** The git ref it was pushed to (refs/heads/main, refs/tags/v1), when it came from git. */
  ref?: string;
  status: DeploymentStatus;
  error?: string;
  releaseId?: string;
  revisionId?: string;
  /** The resolved service configuration this deployment was made with. */
  config: unknown;
  createdBy?: string;
  createdAt: Date;
  updatedAt: Date;
  finishedAt?: Date;
  /** The rollout controller's state (strategy step, weights), while and after it runs. */
  rolloutState?: unknown;
  /** Promote and abort requests not yet acted on. */
  rolloutRequests: RolloutRequests;
}

export interface NewDeployment {
  projectId: string;
  serviceId: string;
  environmentId: string;
  sourceDigest: string;
  commit?: string;
  message?: string;
  ref?: string;
  config: unknown;
  createdBy?: string;
}

export interface DeploymentFilter {
  projectId?: string;
  serviceId?: string;
  environmentId?: string;
  /** At most this many, newest first; 50 when absent. */
  limit?: number;
}

export interface DeploymentPatch {
  error?: string;
  releaseId?: string;
  revisionId?: string;
}

export type RevisionState = 'starting' | 'healthy' | 'warm' | 'stopped' | 'failed';

/** One artifact with one configuration, runnable in one environment. */
export interface Revision {
  id: string;
  serviceId: string;
  environmentId: string;
  artifactDigest: string;
  config: unknown;
  state: RevisionState;
  detail?: string;
  createdAt: Date;
  updatedAt: Date;
}

export type ReleaseKind = 'deploy' | 'rollback';

/** Numbered history of what a service served in an environment: 1, 2, 3 ... */
export interface Release {
  id: string;
  serviceId: string;
  environmentId: string;
  number: number;
  revisionId: string;
  deploymentId?: string;
  kind: ReleaseKind;
  reason?: string;
  createdAt: Date;
}

/** What serves a service in an environment right now. */
export interface LiveState {
  serviceId: string;
  environmentId: string;
  releaseId: string;
  revisionId: string;
  previousRevisionId?: string;
  updatedAt: Date;
}

/** A live state with the names a route table needs (`<service>.<environment>.<project>.localhost`). */
export interface LiveRoute extends LiveState {
  projectId: string;
  projectName: string;
  serviceName: string;
  environmentName: string;
  releaseNumber: number;
}

/** One process of a revision, as the agent last reported it. */
export interface Replica {
  id: string;
  revisionId: string;
  pid?: number;
  port?: number;
  state: string;
  restarts: number;
  lastError?: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface ReplicaReport {
  id: string;
  revisionId: string;
  pid?: number;
  port?: number;
  state: string;
  restarts?: number;
  lastError?: string;
}

export interface StoredEvent {
  /** Increasing; a client replays from the last id it saw. */
  id: number;
  type: string;
  deploymentId?: string;
  projectId?: string;
  data: unknown;
  createdAt: Date;
}

/** An API token. The store keeps only its hash, and never hands the hash back out. */
export interface Token {
  id: string;
  name: string;
  role: string;
  organisationId: string;
  /** Only this project; the whole organisation when absent. */
  projectId?: string;
  projectName?: string;
  /** The person who made it (its permissions never exceed theirs). */
  userId?: string;
  userEmail?: string;
  createdBy?: string;
  expiresAt?: Date;
  createdAt: Date;
  lastUsedAt?: Date;
}

/** The name the rest of Maestro may know it by; StoredEvent avoids shadowing the global Event. */
export type { StoredEvent as Event };

export type BuildStepName = 'install' | 'build' | 'test' | 'package';
export type BuildStepStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';

/** One stage of a build's pipeline, with its outcome. */
export interface BuildStep {
  buildId: string;
  name: BuildStepName;
  position: number;
  status: BuildStepStatus;
  command?: string;
  exitCode?: number;
  cache?: 'hit' | 'miss';
  /** How many times it started (a resumed build runs an interrupted step again). */
  attempt: number;
  error?: string;
  startedAt?: Date;
  finishedAt?: Date;
}

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** A unit of work in the durable queue, leased to one runner at a time. */
export interface Job {
  id: string;
  kind: string;
  projectId?: string;
  buildId?: string;
  payload: unknown;
  status: JobStatus;
  attempts: number;
  maxAttempts: number;
  runAfter: Date;
  leaseOwner?: string;
  leaseExpiresAt?: Date;
  cancelRequested: boolean;
  error?: string;
  createdAt: Date;
  startedAt?: Date;
  finishedAt?: Date;
}

/** A Turborepo or Nx task output in the remote cache; the bytes are the content-addressed blob `digest`. */
export interface RemoteCacheEntry {
  id: number;
  projectId: string;
  /** The client's task hash. */
  hash: string;
  digest: string;
  sizeBytes: number;
  /** How long the task took to compute, as the client reported it (Turborepo's x-artifact-duration). */
  durationMs?: number;
  /** The client's opaque tag, returned unchanged (Turborepo's artifact signature). */
  tag?: string;
  createdAt: Date;
  lastAccessAt: Date;
}

export interface NewRemoteCacheEntry {
  projectId: string;
  hash: string;
  digest: string;
  sizeBytes: number;
  durationMs?: number;
  tag?: string;
}

/** What eviction needs to know of an entry. */
export interface RemoteCacheUsageRow {
  id: number;
  projectId: string;
  digest: string;
  sizeBytes: number;
  lastAccessAt: Date;
}

/** During a rollout: the new revision's share of the traffic beside the live one (0 while it only has a preview). */
export interface TrafficShift {
  serviceId: string;
  environmentId: string;
  revisionId: string;
  deploymentId?: string;
  weight: number;
  preview: boolean;
  updatedAt: Date;
}

/** `maestro promote [--full]` and `maestro abort`, waiting for the rollout controller to act on them. */
export interface RolloutRequests {
  promote?: boolean;
  fullPromote?: boolean;
  abort?: boolean;
  reason?: string;
  actor?: string;
}

export type PreviewKind = 'branch' | 'pull_request';
export type PreviewState = 'active' | 'sleeping' | 'destroyed';
/** Where the push that opened a preview came from. */
export type PreviewOrigin = 'push' | 'github' | 'gitlab';

/** An environment of its own for a branch or a pull request, named `pr-<n>` or after the branch. */
export interface Preview {
  id: string;
  projectId: string;
  /** Absent once its environment is deleted (a destroyed preview whose clean-up finished). */
  environmentId?: string;
  name: string;
  kind: PreviewKind;
  branch: string;
  prNumber?: number;
  headSha?: string;
  origin: PreviewOrigin;
  state: PreviewState;
  expiresAt: Date;
  lastRequestAt?: Date;
  destroyReason?: string;
  createdAt: Date;
  updatedAt: Date;
  destroyedAt?: Date;
}

export interface NewPreview {
  projectId: string;
  kind: PreviewKind;
  branch: string;
  prNumber?: number;
  headSha?: string;
  origin: PreviewOrigin;
  expiresAt: Date;
}

/** What an environment has left on disk and in processes: the ids its files and replicas are named by. */
export interface EnvironmentFootprint {
  deploymentIds: string[];
  buildIds: string[];
  revisionIds: string[];
}
