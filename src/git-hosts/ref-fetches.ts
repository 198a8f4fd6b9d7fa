/** What a pushed branch or tag needs fetched, shared by both providers. */
import { z } from 'zod';
import { isZeroSha, type RefUpdate } from '../git/index.js';
import type { GitHostProvider } from '../store/index.js';
import type { CommitFetch, GitIntent } from './hook-intake.js';
import { parsePayload, refName } from './payload.js';

/** A created or moved branch, or a pushed tag, lands under `refs/maestro/<provider>/`; deletions fetch nothing. */
export function refFetch(provider: GitHostProvider, url: string, intent: GitIntent, ref: string): CommitFetch[] {
  if (intent.kind === 'branch_updated') return [{ url, ref, into: `refs/maestro/${provider}/heads/${intent.branch}`, sha: intent.sha }];
  if (intent.kind === 'tag_pushed') return [{ url, ref, into: `refs/maestro/${provider}/tags/${intent.tag}`, sha: intent.sha }];
  return [];
}

/** Branch and tag names become parts of refspecs: refuse what git itself would not accept. */
export function checkRefNames(intents: readonly GitIntent[], what: string): void {
  for (const intent of intents) {
    const name = intent.kind === 'branch_updated' || intent.kind === 'branch_deleted' ? intent.branch : intent.kind === 'tag_pushed' ? intent.tag : undefined;
    if (name !== undefined) parsePayload(z.object({ ref: refName }), { ref: name }, what);
  }
}

/** Why a ref update asked for nothing. */
export function ignoredRef(update: RefUpdate): string {
  if (update.ref.startsWith('refs/tags/') && isZeroSha(update.newSha)) return `tag ${update.ref.slice('refs/tags/'.length)} was deleted: nothing to build`;
  if (isZeroSha(update.oldSha) && isZeroSha(update.newSha)) return `${update.ref} neither existed before nor after the push`;
  return `${update.ref} is neither a branch nor a tag`;
}
