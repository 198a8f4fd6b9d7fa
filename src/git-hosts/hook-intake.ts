import type { GitIntent, GitObjects, IntentOrigin, IntentOutcome } from '../git/intents.js';

export type { GitIntent, GitObjects, IntentOrigin, IntentOutcome };

/**
 * Where a provider's webhook hands its intents once their commits are in the project's bare repository.
 * It must answer once it has accepted them (deployments created), not when they are built: providers
 * give up on a webhook after 10 s.
 */
export interface HookIntake {
  handle(project: string, intents: GitIntent[], objects: GitObjects, origin: IntentOrigin): Promise<IntentOutcome>;
}

/** Commits to copy from the provider into the project's repository before the intake sees them. */
export interface CommitFetch {
  /** The clone URL, from the payload. */
  url: string;
  /** What to fetch there: `refs/heads/<branch>`, `refs/tags/<tag>`, `refs/pull/<n>/head`. */
  ref: string;
  /** Where it lands in the project's repository: under `refs/maestro/<provider>/`. */
  into: string;
  /** The commit (or annotated tag) the payload says the ref points at. */
  sha: string;
}

/** What a verified delivery asks for. */
export type HookDecision =
  | { kind: 'ping'; message: string }
  | { kind: 'ignore'; reason: string }
  | { kind: 'act'; intents: GitIntent[]; fetches: CommitFetch[]; actor?: string };
