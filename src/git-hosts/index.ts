/**
 * GitHub and GitLab: their webhooks in (verified, deduplicated, commits fetched, intents handed to the
 * intake) and commit statuses out (an outbox sent with retries, in order per commit and context).
 */
export { DEFAULT_STATUS_URLS, GIT_HOST_PROVIDERS, checkProvider, checkRepositoryName, checkStatusUrl, type GitHostProvider } from './providers.js';
export type { CommitFetch, GitIntent, GitObjects, HookDecision, HookIntake, IntentOrigin, IntentOutcome } from './hook-intake.js';
export { decideGitHub, githubRepositoryOf } from './github-events.js';
export { decideGitLab, gitlabRepositoryOf } from './gitlab-events.js';
export { verifyGitHubSignature, verifyGitLabToken } from './hook-auth.js';
export { DEFAULT_FETCH_OPTIONS, fetchCommits, type FetchOptions } from './fetch-commits.js';
export { handleHookDelivery, type HookHandlerDeps, type HookReply, type HookReplyBody, type HookRequest } from './handle-delivery.js';
export { CommitStatuses } from './commit-statuses.js';
export {
  describeStatus,
  outcomeOfDeployments,
  shortDescription,
  statusContext,
  MAX_DESCRIPTION,
  type DeploymentSummary,
  type StatusOutcome,
  type StatusWording,
} from './status-wording.js';
export { GITLAB_STATES, commitStatusRequest, type StatusRequest } from './status-requests.js';
export { decideStatusAttempt, retryAfterMs, type StatusAttempt } from './status-decision.js';
export { CommitStatusSender, startCommitStatusSender, type CommitStatusSenderOptions } from './status-sender.js';
