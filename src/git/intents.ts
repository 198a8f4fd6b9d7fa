/**
 * What a change in a repository asks of Maestro, wherever it came from (a `git push` to Maestro itself,
 * a GitHub or GitLab webhook). The sources turn their own shapes into these; the control plane's intake
 * decides environments and deploys.
 */
export type GitIntent =
  /** A branch now points at `sha`: the production branch deploys to production, any other to its preview. */
  | { kind: 'branch_updated'; branch: string; sha: string; beforeSha?: string; forced?: boolean }
  /** A branch was deleted: its preview goes. */
  | { kind: 'branch_deleted'; branch: string }
  /** A tag was pushed: a release build of that commit (built and stored, not deployed). */
  | { kind: 'tag_pushed'; tag: string; sha: string }
  /** A pull/merge request was opened, reopened or has a new head: its preview follows the head. */
  | { kind: 'pull_request_updated'; number: number; branch: string; sha: string; baseBranch: string; title?: string }
  /** A pull/merge request was closed or merged: its preview goes. */
  | { kind: 'pull_request_closed'; number: number; merged: boolean };

/** Where the intake can read the intent's commits. */
export interface GitObjects {
  /** The project's bare repository under Maestro's data directory. */
  repository: string;
  /**
   * Extra environment for git commands that read the commits: during a push, git keeps the new objects
   * in a quarantine folder until the pre-receive hook accepts them (GIT_OBJECT_DIRECTORY and
   * GIT_ALTERNATE_OBJECT_DIRECTORIES point there). Empty once the objects are in the repository.
   */
  env: Record<string, string>;
}

/** Who or what asked, and how. */
export interface IntentOrigin {
  source: 'push' | 'github' | 'gitlab';
  /** The token name or the provider's sender login. */
  actor?: string;
  /** For provider statuses: the repository as the provider names it (owner/name, group/project). */
  providerRepository?: string;
}

/** What the intake did, line by line for a git client, and in sum. */
export interface IntentOutcome {
  /** False when the push should be refused (a failed deploy, a refused preview, bad input). */
  ok: boolean;
  message: string;
  urls: string[];
  deploymentIds: string[];
}
