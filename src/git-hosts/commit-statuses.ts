/** Queueing commit statuses for GitHub and GitLab; the sender delivers them in the background. */
import type { IntentOrigin } from '../git/index.js';
import type { CommitStatusRecord, NewCommitStatus, Store } from '../store/index.js';
import { describeStatus, shortDescription, type StatusOutcome } from './status-wording.js';

export class CommitStatuses {
  /** `onQueued` wakes the sender of this process, so a status goes out at once rather than at its next poll. */
  constructor(
    private readonly store: Store,
    private readonly onQueued: () => void = () => {},
  ) {}

  /**
   * Writes the status to the outbox. Undefined, and nothing queued, when the project has no link to
   * that provider or no status token for it: nobody asked for statuses there.
   */
  async enqueue(input: NewCommitStatus): Promise<CommitStatusRecord | undefined> {
    const hook = await this.store.projectHooks.get(input.projectId, input.provider);
    if (!hook?.hasStatusToken) return undefined;
    const record = await this.store.commitStatuses.enqueue({ ...input, description: shortDescription(input.description) });
    this.onQueued();
    return record;
  }

  /**
   * The status for a moment of a deployment that came from a provider's webhook (`origin`), worded by
   * describeStatus; `project` is the project's name. Undefined for pushes to Maestro itself, which have
   * no provider to tell, and for a project that no longer exists.
   */
  async report(input: { project: string; origin: IntentOrigin; sha: string; context: string; outcome: StatusOutcome }): Promise<CommitStatusRecord | undefined> {
    const { origin } = input;
    if (origin.source === 'push' || !origin.providerRepository) return undefined;
    const project = await this.store.projects.get(input.project);
    if (!project) return undefined;
    return this.enqueue({
      projectId: project.id,
      provider: origin.source,
      repository: origin.providerRepository,
      sha: input.sha,
      context: input.context,
      ...describeStatus(input.outcome),
    });
  }
}
