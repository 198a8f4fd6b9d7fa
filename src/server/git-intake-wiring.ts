import { errorMessage, type Logger } from '../common/index.js';
import { outcomeOfDeployments, statusContext, type CommitStatuses, type StatusOutcome } from '../git-hosts/index.js';
import type { PreviewManager } from '../previews/index.js';
import type { IntakeHooks, PreviewPort } from './git-intake.js';

/** The intake's view of the preview manager. */
export function previewPort(previews: PreviewManager): PreviewPort {
  return {
    async open(project, key, head) {
      const target =
        key.kind === 'pull_request'
          ? { kind: 'pull_request' as const, number: key.number, branch: key.branch }
          : { kind: 'branch' as const, branch: key.branch };
      const opened = await previews.open(project, { ...target, sha: head.sha, origin: head.origin, ...(head.title ? { title: head.title } : {}) });
      return opened.environment.name;
    },
    async destroy(project, key, reason) {
      const subject = key.kind === 'pull_request' ? { kind: 'pull_request' as const, number: key.number } : { kind: 'branch' as const, branch: key.branch };
      return (await previews.destroyFor(project, subject, reason))?.name;
    },
  };
}

/**
 * Commit statuses for changes that came from GitHub or GitLab: pending when the deployments are accepted,
 * then success with the URL, or the failure, once they end. A provider that cannot be told never stops a deploy.
 */
export function commitStatusHooks(statuses: CommitStatuses, logger: Logger): IntakeHooks {
  const report = (project: string, origin: Parameters<CommitStatuses['report']>[0]['origin'], sha: string, environment: string, outcome: StatusOutcome | undefined) => {
    if (!outcome || origin.source === 'push') return;
    void statuses
      .report({ project, origin, sha, context: statusContext(environment), outcome })
      .catch((error: unknown) => logger.warn({ project, sha, err: errorMessage(error) }, 'could not queue a commit status'));
  };
  return {
    accepted: (project, origin, sha, environment) => report(project, origin, sha, environment, { kind: 'building', environment }),
    settled: (project, origin, sha, environment, deployments) => report(project, origin, sha, environment, outcomeOfDeployments(environment, deployments)),
  };
}
