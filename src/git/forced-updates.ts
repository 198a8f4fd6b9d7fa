import type { GitObjects } from './intents.js';
import { isAncestor } from './commits.js';
import { isZeroSha, type RefUpdate } from './ref-updates.js';

/**
 * The refs of moved branches whose old commit is not an ancestor of the new one (a force push), for
 * intentsFromRefUpdates. An old commit git no longer has counts as forced: history was rewritten.
 */
export async function forcedUpdates(objects: GitObjects, updates: readonly RefUpdate[]): Promise<Set<string>> {
  const forced = new Set<string>();
  for (const update of updates) {
    if (!update.ref.startsWith('refs/heads/') || isZeroSha(update.oldSha) || isZeroSha(update.newSha)) continue;
    const fastForward = await isAncestor(objects, update.oldSha, update.newSha).catch(() => false);
    if (!fastForward) forced.add(update.ref);
  }
  return forced;
}
