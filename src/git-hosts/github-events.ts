/**
 * GitHub's webhook payloads turned into intents, without touching anything: the fields used are parsed
 * with zod, the rest ignored. Shapes per GitHub's "Webhook events and payloads" (push, pull_request, ping).
 */
import { z } from 'zod';
import { intentsFromRefUpdates } from '../git/index.js';
import type { CommitFetch, GitIntent, HookDecision } from './hook-intake.js';
import { objectName, parsePayload, refName } from './payload.js';
import { checkRefNames, ignoredRef, refFetch } from './ref-fetches.js';

const Repository = z.object({ full_name: z.string().min(1), clone_url: z.string().min(1) });
const Sender = z.object({ login: z.string() }).nullish();

const Push = z.object({
  ref: z.string().min(1),
  before: objectName,
  after: objectName,
  forced: z.boolean().optional(),
  repository: Repository,
  sender: Sender,
  pusher: z.object({ name: z.string() }).nullish(),
});

const PullRequestAction = z.object({ action: z.string().min(1), number: z.number().int().positive() });

const PullRequestUpdated = z.object({
  number: z.number().int().positive(),
  pull_request: z.object({
    title: z.string().optional(),
    head: z.object({ ref: refName, sha: objectName }),
    base: z.object({ ref: refName, repo: z.object({ clone_url: z.string().min(1) }).nullish() }),
  }),
  repository: Repository,
  sender: Sender,
});

const PullRequestClosed = z.object({
  number: z.number().int().positive(),
  pull_request: z.object({ merged: z.boolean().nullish() }),
  sender: Sender,
});

const UPDATING_ACTIONS = new Set(['opened', 'synchronize', 'reopened']);

/** `repository.full_name`: which project the delivery is for, read before the signature can be checked. */
export function githubRepositoryOf(event: string, payload: unknown): string {
  return parsePayload(z.object({ repository: z.object({ full_name: z.string().min(1) }) }), payload, `GitHub ${event}`).repository.full_name;
}

/** What a delivery of `event` (the X-GitHub-Event header) asks for. Throws a 400 naming a missing field. */
export function decideGitHub(event: string, payload: unknown): HookDecision {
  switch (event) {
    case 'ping':
      return { kind: 'ping', message: 'pong' };
    case 'push':
      return githubPush(parsePayload(Push, payload, 'GitHub push'));
    case 'pull_request':
      return githubPullRequest(payload);
    default:
      return { kind: 'ignore', reason: `GitHub ${event} events do not deploy anything; Maestro acts on push and pull_request` };
  }
}

function githubPush(push: z.infer<typeof Push>): HookDecision {
  const update = { ref: push.ref, oldSha: push.before, newSha: push.after };
  // GitHub says itself whether the push was forced; without the field, nothing is claimed either way.
  const intents = intentsFromRefUpdates([update], push.forced === undefined ? undefined : () => push.forced === true);
  if (intents.length === 0) return { kind: 'ignore', reason: ignoredRef(update) };
  checkRefNames(intents, 'GitHub push');
  const fetches = intents.flatMap((intent) => refFetch('github', push.repository.clone_url, intent, push.ref));
  const actor = push.sender?.login ?? push.pusher?.name;
  return { kind: 'act', intents, fetches, ...(actor ? { actor } : {}) };
}

function githubPullRequest(payload: unknown): HookDecision {
  const { action, number } = parsePayload(PullRequestAction, payload, 'GitHub pull_request');
  if (action === 'closed') {
    const closed = parsePayload(PullRequestClosed, payload, 'GitHub pull_request');
    const actor = closed.sender?.login;
    return { kind: 'act', intents: [{ kind: 'pull_request_closed', number, merged: closed.pull_request.merged === true }], fetches: [], ...(actor ? { actor } : {}) };
  }
  if (!UPDATING_ACTIONS.has(action)) {
    return { kind: 'ignore', reason: `pull_request action ${action} does not change the code of #${number}; Maestro acts on opened, synchronize, reopened and closed` };
  }
  const pr = parsePayload(PullRequestUpdated, payload, 'GitHub pull_request');
  const { head, base, title } = pr.pull_request;
  const intent: GitIntent = { kind: 'pull_request_updated', number, branch: head.ref, sha: head.sha, baseBranch: base.ref, ...(title ? { title } : {}) };
  // GitHub keeps every pull request's head at refs/pull/<n>/head in the base repository, forks included.
  const fetch: CommitFetch = { url: base.repo?.clone_url ?? pr.repository.clone_url, ref: `refs/pull/${number}/head`, into: `refs/maestro/github/pull/${number}`, sha: head.sha };
  const actor = pr.sender?.login;
  return { kind: 'act', intents: [intent], fetches: [fetch], ...(actor ? { actor } : {}) };
}
