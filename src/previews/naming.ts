/**
 * The environment name of a preview: `pr-<n>` for a pull request, a DNS label made from the branch
 * otherwise. Pure. The name appears in `<service>.<name>.<project>.localhost`, so it follows the
 * environment-name rule (see MAX_NAME_LENGTH in manifest/fields.ts and the API's NAME).
 */
import { createHash } from 'node:crypto';
import { MaestroError } from '../common/index.js';
import { MAX_NAME_LENGTH } from '../manifest/index.js';

export type PreviewNameInput = { kind: 'pull_request'; number: number } | { kind: 'branch'; branch: string };

/** Names previews never take as they are: people's own environments, and the pull requests' `pr-` names. */
const RESERVED = new Set(['production', 'staging', 'preview']);
const PULL_REQUEST_NAME = /^pr-[1-9][0-9]*$/;
const HASH_LENGTHS = [6, 10, 16] as const;
/** What a branch with no usable character (`///`, `日本`) is called before its hash. */
const EMPTY_SLUG = 'branch';

/** The name a preview gets when nothing else holds it. */
export function previewName(input: PreviewNameInput): string {
  return previewNameCandidates(input)[0]!;
}

/**
 * The names to try in order: the usual one, then the same with longer hashes, for the rare clash the
 * store finds (another live preview holds the name, or an environment that never was a preview's).
 */
export function previewNameCandidates(input: PreviewNameInput): string[] {
  if (input.kind === 'pull_request') {
    if (!Number.isSafeInteger(input.number) || input.number < 1) {
      throw new MaestroError('validation_error', `a pull request number is a whole number from 1, got ${String(input.number)}`);
    }
    const name = `pr-${input.number}`;
    return [name, ...HASH_LENGTHS.map((length) => withHash(name, `pull_request:${input.number}`, length))];
  }
  const { branch } = input;
  if (typeof branch !== 'string' || branch === '') throw new MaestroError('validation_error', 'a branch preview needs the branch name');
  const slug = slugify(branch);
  const plain = slug === branch && slug.length <= MAX_NAME_LENGTH && !isReserved(slug);
  const hashed = HASH_LENGTHS.map((length) => withHash(slug || EMPTY_SLUG, branch, length));
  // A name kept as written cannot clash with a hashed one of another branch unless that branch is literally
  // "<slug>-<hash>"; the longer hashes are what the store falls back to then.
  return plain ? [slug, ...hashed.slice(1)] : hashed;
}

/** True for the names a preview of a pull request has (`pr-7`). */
export function isPullRequestName(name: string): boolean {
  return PULL_REQUEST_NAME.test(name);
}

/** Lowercase a-z, 0-9 and '-', every run of anything else one '-', no '-' at either end. */
function slugify(branch: string): string {
  return branch
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

function isReserved(name: string): boolean {
  return RESERVED.has(name) || name.startsWith('pr-');
}

/** `<base cut to fit>-<hex of sha256(key)>`: deterministic, within the length limit, never ending in '-'. */
function withHash(base: string, key: string, length: number): string {
  const hash = createHash('sha256').update(key, 'utf8').digest('hex').slice(0, length);
  const room = MAX_NAME_LENGTH - length - 1;
  const cut = base.slice(0, room).replace(/-+$/, '') || EMPTY_SLUG.slice(0, room);
  return `${cut}-${hash}`;
}
