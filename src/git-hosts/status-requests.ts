/**
 * The HTTP request that sets one commit status, as each provider documents it: GitHub's "Create a commit
 * status" (REST API 2022-11-28) and GitLab's "Set the pipeline status of a commit".
 */
import type { CommitState, CommitStatusRecord } from '../store/index.js';
import { statusUrlOf } from './providers.js';
import { shortDescription } from './status-wording.js';

export interface StatusRequest {
  method: 'POST';
  url: string;
  headers: Record<string, string>;
  body: string;
}

export type GitLabState = 'pending' | 'running' | 'success' | 'failed' | 'canceled';

/**
 * Maestro's `pending` means work has started (a build, a rollout), which GitLab calls running; GitLab
 * refuses to go from running back to pending, so pending is never sent. `error` is a cancellation.
 */
export const GITLAB_STATES: Readonly<Record<CommitState, GitLabState>> = { pending: 'running', success: 'success', failure: 'failed', error: 'canceled' };

const USER_AGENT = 'Maestro-Commit-Statuses';

export function commitStatusRequest(status: CommitStatusRecord, settings: { statusUrl?: string; statusToken: string }): StatusRequest {
  const base = statusUrlOf(status.provider, settings.statusUrl);
  const description = shortDescription(status.description);
  if (status.provider === 'github') {
    const [owner = '', name = ''] = status.repository.split('/');
    return {
      method: 'POST',
      url: `${base}/repos/${encodeURIComponent(owner)}/${encodeURIComponent(name)}/statuses/${encodeURIComponent(status.sha)}`,
      headers: {
        authorization: `Bearer ${settings.statusToken}`,
        accept: 'application/vnd.github+json',
        'x-github-api-version': '2022-11-28',
        'content-type': 'application/json',
        'user-agent': USER_AGENT,
      },
      body: JSON.stringify({ state: status.state, ...(status.targetUrl ? { target_url: status.targetUrl } : {}), description, context: status.context }),
    };
  }
  return {
    method: 'POST',
    url: `${base}/projects/${encodeURIComponent(status.repository)}/statuses/${encodeURIComponent(status.sha)}`,
    headers: { 'private-token': settings.statusToken, 'content-type': 'application/json', 'user-agent': USER_AGENT },
    body: JSON.stringify({ state: GITLAB_STATES[status.state], name: status.context, ...(status.targetUrl ? { target_url: status.targetUrl } : {}), description }),
  };
}
