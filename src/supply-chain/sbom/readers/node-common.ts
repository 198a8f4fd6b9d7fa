/** What the Node lockfile readers share: where a package came from, and how to report gaps. */
import type { Origin } from '../model.js';

/**
 * Where a Node package with this `resolved` value came from. A registry tarball URL ends in
 * `/<name>/-/<basename>-<version>.tgz` (on any registry, the public one or a mirror); any other
 * URL is a tarball from elsewhere. No `resolved` at all is how npm writes registry packages when
 * told to leave URLs out.
 */
export function nodeOrigin(resolved: string | undefined, name: string, version: string): Origin {
  if (resolved === undefined || resolved === '') return 'registry';
  if (/^(git\+|git:|github:|gitlab:|bitbucket:)/.test(resolved)) return 'git';
  if (resolved.startsWith('file:') || resolved.startsWith('link:')) return 'local';
  if (/^https?:/.test(resolved)) {
    const base = name.slice(name.lastIndexOf('/') + 1);
    const path = resolved.split(/[?#]/)[0]!;
    return path.endsWith(`/-/${base}-${version}.tgz`) ? 'registry' : 'url';
  }
  return 'local';
}

/** One problem for all the dependencies a lockfile lacks, naming the first few. */
export function describeMissing(missing: readonly string[]): string {
  const shown = missing.slice(0, 5).join('; ');
  const more = missing.length > 5 ? ` and ${missing.length - 5} more` : '';
  return `lacks packages that its entries need (${shown}${more}); run the package manager's install and commit the lockfile`;
}
