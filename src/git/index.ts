/**
 * Git: Maestro as a git remote (smart HTTP through `git http-backend`, a pre-receive hook that asks the
 * control plane), what a push's ref updates ask for, and reading the pushed commits.
 */
export type { GitIntent, GitObjects, IntentOrigin, IntentOutcome } from './intents.js';
export type { PushReceiver, ReceivedPush } from './push.js';
export { isZeroSha, parseRefUpdates, type RefUpdate } from './ref-updates.js';
export { intentsFromRefUpdates } from './ref-intents.js';
export { forcedUpdates } from './forced-updates.js';
export { changedPaths, commitInfo, exportCommit, hasFile, isAncestor, resolveCommit, type CommitInfo } from './commits.js';
export { ensureBareRepository, gitRepositoryPath } from './repositories.js';
export { gitHttpBackend, HOOK_ROUTE, type GitHttpOptions } from './http-backend.js';
