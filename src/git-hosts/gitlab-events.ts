/**
 * GitLab's webhook payloads turned into intents, without touching anything. Shapes per GitLab's
 * "Webhook events" page (Push Hook, Tag Push Hook, Merge Request Hook); only the fields used are parsed.
 */
import { z } from 'zod';
import { intentsFromRefUpdates, isZeroSha } from '../git/index.js';
import type { CommitFetch, GitIntent, HookDecision } from './hook-intake.js';
import { objectName, parsePayload, refName } from './payload.js';
import { checkRefNames, ignoredRef, refFetch } from './ref-fetches.js';

const Project = z.object({ path_with_namespace: z.string().min(1), git_http_url: z.string().min(1) });

const Push = z.object({
  ref: z.string().min(1),
  before: objectName,
  after: objectName,
  // The commit a branch or tag points at (`after` is the tag object for an annotated tag); null on a delete.
  checkout_sha: objectName.nullish(),
  project: Project,
  user_username: z.string().nullish(),
});

const MergeRequestAction = z.object({
  object_attributes: z.object({ iid: z.number().int().positive(), action: z.string().min(1).optional() }),
});

const MergeRequestUpdated = z.object({
  object_attributes: z.object({
    iid: z.number().int().positive(),
    source_branch: refName,
    target_branch: refName,
    title: z.string().optional(),
    last_commit: z.object({ id: objectName }),
    // Present only when the update brought new commits.
    oldrev: objectName.nullish(),
    source: z.object({ git_http_url: z.string().min(1) }).nullish(),
  }),
  project: Project,
  user: z.object({ username: z.string() }).nullish(),
});

const User = z.object({ user: z.object({ username: z.string() }).nullish() });

/** `project.path_with_namespace`: which project the delivery is for, read before the token is checked. */
export function gitlabRepositoryOf(event: string, payload: unknown): string {
  return parsePayload(z.object({ project: z.object({ path_with_namespace: z.string().min(1) }) }), payload, `GitLab ${event}`).project.path_with_namespace;
}

/** What a delivery of `event` (the X-Gitlab-Event header) asks for. Throws a 400 naming a missing field. */
export function decideGitLab(event: string, payload: unknown): HookDecision {
  switch (event) {
    case 'Push Hook':
    case 'Tag Push Hook':
      return gitlabPush(parsePayload(Push, payload, `GitLab ${event}`), event);
    case 'Merge Request Hook':
      return gitlabMergeRequest(payload);
    default:
      return { kind: 'ignore', reason: `GitLab ${event} events do not deploy anything; Maestro acts on Push Hook, Tag Push Hook and Merge Request Hook` };
  }
}

function gitlabPush(push: z.infer<typeof Push>, event: string): HookDecision {
  // A deleted ref has `after` all zeros; otherwise the commit is checkout_sha (the same as `after` for a branch).
  const newSha = isZeroSha(push.after) ? push.after : (push.checkout_sha ?? push.after);
  const update = { ref: push.ref, oldSha: push.before, newSha };
  // GitLab does not say whether a push was forced: the fetch step answers it from the repository.
  const intents = intentsFromRefUpdates([update]);
  if (intents.length === 0) return { kind: 'ignore', reason: ignoredRef(update) };
  checkRefNames(intents, `GitLab ${event}`);
  const fetches = intents.flatMap((intent) => refFetch('gitlab', push.project.git_http_url, intent, push.ref));
  return { kind: 'act', intents, fetches, ...(push.user_username ? { actor: push.user_username } : {}) };
}

function gitlabMergeRequest(payload: unknown): HookDecision {
  const { iid, action } = parsePayload(MergeRequestAction, payload, 'GitLab Merge Request Hook').object_attributes;
  const actor = parsePayload(User, payload, 'GitLab Merge Request Hook').user?.username;
  const by = actor ? { actor } : {};
  if (action === 'close' || action === 'merge') {
    return { kind: 'act', intents: [{ kind: 'pull_request_closed', number: iid, merged: action === 'merge' }], fetches: [], ...by };
  }
  if (action !== 'open' && action !== 'reopen' && action !== 'update') {
    return {
      kind: 'ignore',
      reason: `merge request action ${action ?? '(none)'} does not change the code of !${iid}; Maestro acts on open, reopen, update with new commits, close and merge`,
    };
  }
  const mr = parsePayload(MergeRequestUpdated, payload, 'GitLab Merge Request Hook');
  const attributes = mr.object_attributes;
  if (action === 'update' && !attributes.oldrev) {
    return { kind: 'ignore', reason: `merge request !${iid} was updated without new commits (a title, label or approval change)` };
  }
  const intent: GitIntent = {
    kind: 'pull_request_updated',
    number: iid,
    branch: attributes.source_branch,
    sha: attributes.last_commit.id,
    baseBranch: attributes.target_branch,
    ...(attributes.title ? { title: attributes.title } : {}),
  };
  // The head branch from the source project (a fork's, perhaps); when that project is gone, GitLab
  // still keeps the head at refs/merge-requests/<iid>/head in the target project.
  const fetch: CommitFetch = attributes.source
    ? { url: attributes.source.git_http_url, ref: `refs/heads/${attributes.source_branch}`, into: `refs/maestro/gitlab/merge-requests/${iid}`, sha: attributes.last_commit.id }
    : { url: mr.project.git_http_url, ref: `refs/merge-requests/${iid}/head`, into: `refs/maestro/gitlab/merge-requests/${iid}`, sha: attributes.last_commit.id };
  return { kind: 'act', intents: [intent], fetches: [fetch], ...by };
}
