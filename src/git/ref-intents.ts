/**
 * What a push's ref updates ask of Maestro, decided without touching git: whether a moved branch was
 * forced is a question for the repository, so the caller answers it beforehand (see forcedUpdates).
 */
import type { GitIntent } from './intents.js';
import { isZeroSha, type RefUpdate } from './ref-updates.js';

const BRANCH_PREFIX = 'refs/heads/';
const TAG_PREFIX = 'refs/tags/';

/**
 * One intent per branch or tag update, in the push's order: a created or moved branch is
 * `branch_updated` (with `beforeSha` when it moved, and `forced` as `isForced` says), a deleted one
 * `branch_deleted`, a pushed tag `tag_pushed`. Deleted tags and every other ref (notes, pull
 * requests, stashes) ask for nothing.
 */
export function intentsFromRefUpdates(updates: readonly RefUpdate[], isForced?: (update: RefUpdate) => boolean): GitIntent[] {
  const intents: GitIntent[] = [];
  for (const update of updates) {
    const created = isZeroSha(update.oldSha);
    const deleted = isZeroSha(update.newSha);
    if (update.ref.startsWith(BRANCH_PREFIX) && update.ref.length > BRANCH_PREFIX.length) {
      const branch = update.ref.slice(BRANCH_PREFIX.length);
      if (deleted) {
        if (!created) intents.push({ kind: 'branch_deleted', branch });
        continue;
      }
      intents.push({
        kind: 'branch_updated',
        branch,
        sha: update.newSha,
        ...(created ? {} : { beforeSha: update.oldSha }),
        ...(!created && isForced ? { forced: isForced(update) } : {}),
      });
    } else if (update.ref.startsWith(TAG_PREFIX) && update.ref.length > TAG_PREFIX.length && !deleted) {
      intents.push({ kind: 'tag_pushed', tag: update.ref.slice(TAG_PREFIX.length), sha: update.newSha });
    }
  }
  return intents;
}
