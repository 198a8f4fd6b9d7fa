/** Queueing commit statuses for GitHub and GitLab; the sender delivers them in the background. */
import type { IntentOrigin } from '../git/index.js';
import type { CommitStatusRecord, NewCommitStatus, Store } from '../store/index.js';
import { describeStatus, shortDescription, type StatusOutcome } from './status-wording.js';

export class CommitStatuses {
  // Calls for one commit and context are queued in the order they were made, even when the caller
  // does not wait for one before the next: the outbox sends in queue order, so a `building` reported
  // just before a `deployed` must not land after it.
  private readonly tails = new Map<string, Promise<unknown>>();

  /** `onQueued` wakes the sender of this process, so a status goes out at once rather than at its next poll. */
  constructor(
    private readonly store: Store,
    private readonly onQueued: () => void = () => {},
  ) {}

  /**
   * Writes the status to the outbox. Undefined, and nothing queued, when the project has no link to
   * that provider or no status token for it: nobody asked for statuses there.
   */
  enqueue(input: NewCommitStatus): Promise<CommitStatusRecord | undefined> {
    return this.inOrder(`${input.projectId}\0${input.provider}\0${input.sha}\0${input.context}`, () => this.write(input));
  }

  /**
   * The status for a moment of a deployment that came from a provider's webhook (`origin`), worded by
   * describeStatus; `project` is the project's name. Undefined for pushes to Maestro itself, which have
   * no provider to tell, and for a project that no longer exists.
   */
  report(input: { project: string; origin: IntentOrigin; sha: string; context: string; outcome: StatusOutcome }): Promise<CommitStatusRecord | undefined> {
    const { origin } = input;
    if (origin.source === 'push' || !origin.providerRepository) return Promise.resolve(undefined);
    const repository = origin.providerRepository;
    const provider = origin.source;
    return this.inOrder(`${input.project}\0${provider}\0${input.sha}\0${input.context}`, async () => {
      const project = await this.store.projects.get(input.project);
      if (!project) return undefined;
      return this.write({ projectId: project.id, provider, repository, sha: input.sha, context: input.context, ...describeStatus(input.outcome) });
    });
  }

  private async write(input: NewCommitStatus): Promise<CommitStatusRecord | undefined> {
    const hook = await this.store.projectHooks.get(input.projectId, input.provider);
    if (!hook?.hasStatusToken) return undefined;
    const record = await this.store.commitStatuses.enqueue({ ...input, description: shortDescription(input.description) });
    this.onQueued();
    return record;
  }

  private inOrder<T>(key: string, task: () => Promise<T>): Promise<T> {
    const result = (this.tails.get(key) ?? Promise.resolve()).then(task, task);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}
