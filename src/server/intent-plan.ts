import type { GitIntent, IntentOrigin } from '../git/intents.js';
import type { Permission } from '../identity/index.js';

/** A preview is named for its pull request, or for its branch when it came from a push to Maestro. */
export type PreviewKey = { kind: 'pull_request'; number: number; branch: string } | { kind: 'branch'; branch: string };

/** What one intent means for a project, decided from the intent and the project's production branch alone. */
export type IntentPlan =
  | { kind: 'deploy'; environment: 'production'; sha: string; ref: string }
  | { kind: 'deploy_preview'; preview: PreviewKey; sha: string; ref: string; title?: string }
  | { kind: 'release_build'; sha: string; ref: string; tag: string }
  | { kind: 'destroy_preview'; preview: PreviewKey; reason: string }
  | { kind: 'ignore'; reason: string };

/**
 * The production branch deploys to production; another branch pushed to Maestro gets its own preview.
 * From GitHub and GitLab, previews follow pull and merge requests (a branch push there would make a
 * second preview of the same work), so only their production-branch pushes deploy. Deleting the
 * production branch takes nothing down: production is not a preview.
 */
export function planIntent(intent: GitIntent, productionBranch: string, origin: IntentOrigin['source']): IntentPlan {
  switch (intent.kind) {
    case 'branch_updated': {
      const ref = `refs/heads/${intent.branch}`;
      if (intent.branch === productionBranch) {
        return { kind: 'deploy', environment: 'production', sha: intent.sha, ref };
      }
      if (origin !== 'push') {
        return { kind: 'ignore', reason: `${intent.branch} is not the production branch (${productionBranch}); its previews follow pull requests` };
      }
      return { kind: 'deploy_preview', preview: { kind: 'branch', branch: intent.branch }, sha: intent.sha, ref };
    }
    case 'branch_deleted':
      if (intent.branch === productionBranch) {
        return { kind: 'ignore', reason: `deleting the production branch (${productionBranch}) leaves production serving` };
      }
      if (origin !== 'push') return { kind: 'ignore', reason: `${intent.branch} has no branch preview; pull request previews go when the request closes` };
      return { kind: 'destroy_preview', preview: { kind: 'branch', branch: intent.branch }, reason: `branch ${intent.branch} was deleted` };
    case 'tag_pushed':
      return { kind: 'release_build', sha: intent.sha, ref: `refs/tags/${intent.tag}`, tag: intent.tag };
    case 'pull_request_updated':
      return {
        kind: 'deploy_preview',
        preview: { kind: 'pull_request', number: intent.number, branch: intent.branch },
        sha: intent.sha,
        ref: `refs/pull/${intent.number}/head`,
        ...(intent.title ? { title: intent.title } : {}),
      };
    case 'pull_request_closed':
      return {
        kind: 'destroy_preview',
        preview: { kind: 'pull_request', number: intent.number, branch: '' },
        reason: `pull request #${intent.number} was ${intent.merged ? 'merged' : 'closed'}`,
      };
  }
}

/**
 * What carrying a plan out takes of the person who pushed: the production branch deploys to production,
 * anything else touches a preview or only builds. Provider webhooks are not asked: their signature is
 * their credential, and the pipeline they drive is the one the project set up.
 */
export function planPermission(plan: IntentPlan): Permission | undefined {
  switch (plan.kind) {
    case 'deploy':
      return 'deploy:production';
    case 'deploy_preview':
    case 'destroy_preview':
    case 'release_build':
      return 'deploy:preview';
    case 'ignore':
      return undefined;
  }
}
