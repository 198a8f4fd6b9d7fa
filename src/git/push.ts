/** What Maestro's git remote hands the control plane when a push arrives, and what it expects back. */
import type { AccessDecision, Permission } from '../identity/index.js';
import type { GitObjects, IntentOutcome } from './intents.js';
import type { RefUpdate } from './ref-updates.js';

export interface ReceivedPush {
  project: string;
  /** As git gives them, in its order; an all-zero sha for a created or deleted ref. */
  updates: RefUpdate[];
  /** Where the pushed commits can be read: still in git's quarantine until the push is accepted. */
  objects: GitObjects;
  /** `git push -o <option>`, in order (e.g. `no-wait`). */
  pushOptions: string[];
  /** The name of the token that pushed. */
  actor: string;
  /** Whether the pusher holds a permission on the project: what each ref deploys is checked with it. */
  permits: (permission: Permission) => AccessDecision;
}

/**
 * The control plane's intake for pushes. `progress` lines reach the pusher's terminal as `remote:` lines
 * while `receive` runs; the outcome's `ok` accepts (the refs move) or refuses the push (they do not).
 * `signal` aborts when the pusher goes away before the answer.
 */
export interface PushReceiver {
  receive(push: ReceivedPush, progress: (line: string) => void, signal: AbortSignal): Promise<IntentOutcome>;
}
